export async function main(argv: string[]): Promise<number> {
  console.log('steward', argv.join(' '));
  return 0;
}
