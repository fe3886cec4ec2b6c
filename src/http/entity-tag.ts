// Strong entity tags derived from what a representation is: the same bytes and media type give the same tag.
import { createHash } from 'node:crypto'

/** 128 bits of SHA-256 over the media type and the bytes, base64url, in quotes. */
export function entityTagOf (contentType: string, value: Buffer): string {
  const digest = createHash('sha256').update(contentType).update('\0').update(value).digest('base64url')
  return `"${digest.slice(0, 22)}"`
}
