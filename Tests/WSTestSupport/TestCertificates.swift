// SPDX-License-Identifier: Apache-2.0
import Foundation

/// Certificates made at test time with the `openssl` command (no key is ever committed), once
/// per test process, in a fresh temporary directory:
///
/// - `ca` and `otherca`: throwaway CAs (`CN=WSTLS Test CA`, `CN=WSTLS Other CA`);
/// - `server`: `CN=localhost` for localhost, 127.0.0.1 and ::1, signed by `ca`, valid from a
///   day ago for 31 days; `server.fp` holds its SHA-256 fingerprint as `openssl` prints it;
/// - `expired` (January 2020), `notyet` (2099), `otherhost` (other.example), `unknownca`
///   (signed by `otherca`), `selfsigned`: the same names, each with one thing wrong;
/// - `client`: `CN=WSTLS Test Client`, for client authentication, signed by `ca`.
///
/// Each name has `NAME.pem` and `NAME.key`.
public enum TestCertificates {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    private static let made: Result<String, Failure> = make()

    /// The directory holding the files; made on first use.
    public static func directory() throws -> String { try made.get() }

    /// The path of `name` (e.g. `"server.pem"`).
    public static func path(_ name: String) throws -> String { try directory() + "/" + name }

    /// The contents of `name`.
    public static func bytes(_ name: String) throws -> [UInt8] {
        let path = try path(name)
        guard let data = FileManager.default.contents(atPath: path) else { throw Failure(description: "cannot read \(path)") }
        return [UInt8](data)
    }

    /// The text of `name` without surrounding white space.
    public static func text(_ name: String) throws -> String {
        String(decoding: try bytes(name), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static func make() -> Result<String, Failure> {
        let dir = NSTemporaryDirectory() + "wstls-certs-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))"
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try script.write(toFile: dir + "/make.sh", atomically: true, encoding: .utf8)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["make.sh"]
            process.currentDirectoryURL = URL(fileURLWithPath: dir)
            let errors = Pipe()
            process.standardError = errors
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            let message = errors.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                return .failure(Failure(description: "making test certificates failed: \(String(decoding: message, as: UTF8.self))"))
            }
            return .success(dir)
        } catch {
            return .failure(Failure(description: "making test certificates failed: \(error)"))
        }
    }

    private static let script = #"""
    set -eu
    cat > ca.cnf <<'CNF'
    [ req ]
    distinguished_name = dn
    prompt = no
    [ dn ]
    CN = ignored
    [ ca ]
    default_ca = ca_default
    [ ca_default ]
    database = index.txt
    new_certs_dir = .
    serial = serial
    default_md = sha256
    policy = policy_any
    unique_subject = no
    email_in_dn = no
    [ policy_any ]
    commonName = supplied
    [ ca_ext ]
    basicConstraints = critical, CA:TRUE
    keyUsage = critical, keyCertSign, cRLSign
    subjectKeyIdentifier = hash
    [ server_ext ]
    basicConstraints = critical, CA:FALSE
    keyUsage = critical, digitalSignature
    extendedKeyUsage = serverAuth
    subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
    [ other_ext ]
    basicConstraints = critical, CA:FALSE
    keyUsage = critical, digitalSignature
    extendedKeyUsage = serverAuth
    subjectAltName = DNS:other.example
    [ client_ext ]
    basicConstraints = critical, CA:FALSE
    keyUsage = critical, digitalSignature
    extendedKeyUsage = clientAuth
    CNF
    key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$1.key"; }
    ca() {
      key "$1"
      openssl req -config ca.cnf -new -x509 -key "$1.key" -out "$1.pem" -days 30 -subj "/CN=$2" -extensions ca_ext
    }
    leaf() {
      key "$1"
      openssl req -config ca.cnf -new -key "$1.key" -out "$1.csr" -subj "/CN=$2"
      : > index.txt; echo 01 > serial
      openssl ca -config ca.cnf -batch -notext -cert "$3.pem" -keyfile "$3.key" -in "$1.csr" -out "$1.pem" \
        -extensions "$4" -startdate "$5" -enddate "$6" 2>/dev/null
    }
    # One clock reading for both ends (two could straddle a second: 31 days and 1 s).
    now=$(date -u +%s)
    start=$(date -u -d "@$((now - 86400))" +%Y%m%d%H%M%SZ); end=$(date -u -d "@$((now + 30 * 86400))" +%Y%m%d%H%M%SZ)
    ca ca "WSTLS Test CA"
    ca otherca "WSTLS Other CA"
    leaf server localhost ca server_ext "$start" "$end"
    leaf expired localhost ca server_ext 20200101000000Z 20200201000000Z
    leaf notyet localhost ca server_ext 20990101000000Z 20990201000000Z
    leaf otherhost other.example ca other_ext "$start" "$end"
    leaf unknownca localhost otherca server_ext "$start" "$end"
    leaf client "WSTLS Test Client" ca client_ext "$start" "$end"
    key selfsigned
    openssl req -config ca.cnf -new -x509 -key selfsigned.key -out selfsigned.pem -days 30 -subj /CN=localhost \
      -extensions server_ext
    openssl x509 -in server.pem -noout -fingerprint -sha256 | sed 's/.*=//' > server.fp
    openssl x509 -in server.pem -noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256 -binary \
      | openssl base64 > server.spki
    """#
}
