// A certificate authority and a server certificate for localhost, made with openssl for one test and removed after.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

interface Teardown { teardown (fn: () => unknown): void }

export interface TestCertificates {
  caFile: string
  ca: string
  certFile: string
  keyFile: string
}

export function makeCertificates (t: Teardown): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'cache-service-tls-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = (name: string) => join(dir, name)
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' })
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']

  openssl('req', '-x509', ...ecKey, '-keyout', file('ca.key'), '-out', file('ca.crt'), '-days', '1',
    '-subj', '/CN=cache-service test CA')
  openssl('req', ...ecKey, '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=localhost')
  writeFileSync(file('san.ext'), 'subjectAltName=DNS:localhost\n')
  openssl('x509', '-req', '-in', file('server.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key'),
    '-CAcreateserial', '-out', file('server.crt'), '-days', '1', '-extfile', file('san.ext'))

  const ca = readFileSync(file('ca.crt'), 'utf8')
  return { caFile: file('ca.crt'), ca, certFile: file('server.crt'), keyFile: file('server.key') }
}
