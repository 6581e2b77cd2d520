/**
 * A well-formed checksum database verifier key (`name+hash+keydata`, as GOSUMDB takes it) for a fresh
 * Ed25519 key pair: valid to parse, and it signed nothing any database serves.
 */
export async function freshVerifierKey(dbName: string): Promise<string> {
  const pair = (await crypto.subtle.generateKey('Ed25519', true, ['sign', 'verify'])) as CryptoKeyPair;
  const data = new Uint8Array([1, ...new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey))]);
  const hash = new Bun.CryptoHasher('sha256').update(`${dbName}\n`).update(data).digest();
  return `${dbName}+${hash.subarray(0, 4).toString('hex')}+${Buffer.from(data).toString('base64')}`;
}
