// An independent reference parser for the differential fuzz of xdp-sni's
// ClientHello parser. Written from the RFCs, not from bpf/xdp_sni.bpf.c:
//
//   RFC 8446 5.1  TLSPlaintext { ContentType type; ProtocolVersion
//                 legacy_record_version; uint16 length (<= 2^14);
//                 opaque fragment[length] }. Handshake messages may be
//                 fragmented over several records; records of a handshake
//                 message must not be interleaved with other record types;
//                 zero-length handshake fragments must not be sent;
//                 legacy_record_version "MUST be ignored for all purposes".
//   RFC 8446 4    Handshake { HandshakeType msg_type; uint24 length; body }
//   RFC 8446 4.1.2 ClientHello { legacy_version; Random random[32];
//                 legacy_session_id<0..32>; cipher_suites<2..2^16-2>;
//                 legacy_compression_methods<1..2^8-1>;
//                 extensions<8..2^16-1> }
//   RFC 8446 4.2  no two extensions of the same type in one block
//   RFC 6066 3    server_name: ServerNameList server_name_list<1..2^16-1>;
//                 ServerName { NameType name_type; HostName<1..2^16-1> }
//                 (host_name = 0); at most one name of each name type.
//
// Choices where the RFCs leave room (each is stated so a reader can judge):
// - A ClientHello that ends right after the compression methods (no
//   extensions field at all, as RFC 5246 allows) is 'no-sni', not malformed.
// - A ServerName entry of another name type is read as opaque<0..2^16-1>
//   (a 16-bit length, as RFC 3546 defined it and as deployed parsers do)
//   and skipped.
// - Where a malformation is: a length that runs past its container is
//   malformed at the length field (the parser knows there and then); bytes
//   left over after a complete structure (after the extensions, inside the
//   server_name extension after the list) are malformed at the first
//   left-over byte; running out of stream is 'truncated' at the stream end.
// - Data in the stream after the ClientHello is not looked at.
// - legacy_version and the contents of other extensions are not checked.
// - 'malformed' means the encoding is broken (a length, a vector's bounds,
//   the record layer, truncation) or the host_name is ambiguous (a second
//   server_name extension, a second host_name). Two rules a server also
//   enforces break neither: no second extension of a type other than
//   server_name (RFC 8446 4.2) and no second ServerName of a type other
//   than host_name (RFC 6066 3). Every byte still has one meaning, so the
//   reference reads on and lists them in features.violations; the fuzz asks
//   whether the data plane reads what the client sent, not whether it
//   validates a hello as a server would.

export interface HelloFeatures {
  /** TLS records that carried (part of) the ClientHello */
  records: number;
  /** legacy_record_version of each of those records, as 0xMMmm */
  recordVersions: number[];
  /** some record of the hello has a version major byte other than 3 */
  recordVersionNot3: boolean;
  /** the host_name, less one trailing dot, is longer than 253 bytes */
  nameOver253: boolean;
  /** an extension of type 0xfe0d (encrypted_client_hello) was seen */
  ech: boolean;
  /** ServerName entries of a type other than host_name were seen */
  otherNameTypes: number;
  /** stream offset just past the ClientHello, if it was complete */
  helloEnd?: number;
  /** RFC rules broken that leave the encoding and the name clear */
  violations: string[];
}

export interface RefName {
  /** the host_name bytes as sent (latin1) */
  name: string;
  /** ASCII lower case, one trailing dot removed */
  lower: string;
  /** stream offset just past the last byte of the host_name */
  nameEndOffset: number;
}

export type RefResult =
  | ({ kind: 'name'; features: HelloFeatures } & RefName)
  | ({ kind: 'malformed'; reason: string; offset: number; features: HelloFeatures } & Partial<RefName>)
  | { kind: 'no-sni'; features: HelloFeatures }
  | { kind: 'not-hello'; reason: string; features: HelloFeatures };

const REC_HANDSHAKE = 22;
const HS_CLIENT_HELLO = 1;
const REC_MAX = 1 << 14;

export function lowerName(name: string): string {
  let s = '';
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    s += c >= 0x41 && c <= 0x5a ? String.fromCharCode(c | 0x20) : name[i];
  }
  return s.endsWith('.') ? s.slice(0, -1) : s;
}

/** Thrown inside the body parser; turned into a 'malformed' result. */
class Malformed extends Error {
  constructor(readonly reason: string, readonly offset: number) {
    super(reason);
  }
}

/**
 * Classify the client-to-server byte stream of one TCP connection (in
 * order, from its first byte).
 */
export function parseClientHello(stream: Buffer): RefResult {
  const features: HelloFeatures = {
    records: 0, recordVersions: [], recordVersionNot3: false, nameOver253: false, ech: false, otherNameTypes: 0, violations: [],
  };

  // ---- record layer: gather the handshake bytes, with the stream offset
  // of each, until the whole ClientHello is there (or something stops it)
  const hs: number[] = [];
  const at: number[] = [];          // at[i]: stream offset of hs[i]
  let need = 4;                     // handshake header first, then 4 + length
  let pos = 0;
  let recErr: Malformed | undefined;
  while (hs.length < need) {
    if (pos >= stream.length) {
      if (pos === 0) return { kind: 'not-hello', reason: 'empty stream', features };
      break;                        // out of data: truncated (found below)
    }
    if (stream[pos] !== REC_HANDSHAKE) {
      if (features.records === 0) return { kind: 'not-hello', reason: `record type ${stream[pos]}`, features };
      recErr = new Malformed(`record of type ${stream[pos]} inside the handshake message`, pos);
      break;
    }
    if (pos + 5 > stream.length) break;   // record header cut off
    const version = stream.readUInt16BE(pos + 1);
    const len = stream.readUInt16BE(pos + 3);
    if (len > REC_MAX) {
      recErr = new Malformed(`record length ${len} over 2^14`, pos + 3);
      break;
    }
    if (len === 0) {
      recErr = new Malformed('zero-length handshake record', pos + 3);
      break;
    }
    features.records++;
    features.recordVersions.push(version);
    if (version >> 8 !== 3) features.recordVersionNot3 = true;
    const end = Math.min(pos + 5 + len, stream.length);
    for (let i = pos + 5; i < end; i++) {
      hs.push(stream[i]);
      at.push(i);
      if (hs.length === 1 && stream[i] !== HS_CLIENT_HELLO)
        return { kind: 'not-hello', reason: `handshake type ${stream[i]}`, features };
      if (hs.length === 4) need = 4 + ((hs[1] << 16) | (hs[2] << 8) | hs[3]);
    }
    pos += 5 + len;
  }
  if (hs.length === 0) {
    // a handshake record header (or part of one) and nothing more
    return { kind: 'malformed', reason: recErr?.reason ?? 'truncated', offset: recErr?.offset ?? stream.length, features };
  }

  // ---- the handshake message body
  const avail = hs.length;
  const hsEnd = need;               // 4 + declared length (may exceed avail)
  let found: RefName | undefined;
  let p = 0;

  /** stream offset of handshake byte i (or the stream end past the data) */
  const off = (i: number) => (i < avail ? at[i] : stream.length);
  /** the next n bytes must lie inside `limit` (a declared end) and be there */
  const take = (n: number, limit: number, what: string): number => {
    if (p + n > limit) throw new Malformed(`${what} runs past its container`, off(p));
    if (p + n > avail) throw recErr ?? new Malformed('truncated', stream.length);
    const start = p;
    p += n;
    return start;
  };
  const u8 = (limit: number, what: string) => hs[take(1, limit, what)];
  const u16 = (limit: number, what: string) => {
    const i = take(2, limit, what);
    return (hs[i] << 8) | hs[i + 1];
  };

  try {
    take(4, hsEnd, 'handshake header');
    take(2 + 32, hsEnd, 'legacy_version and random');
    const fieldAt = () => off(p);
    let f = fieldAt();
    const sid = u8(hsEnd, 'legacy_session_id length');
    if (sid > 32) throw new Malformed(`legacy_session_id length ${sid} over 32`, f);
    take(sid, hsEnd, 'legacy_session_id');
    f = fieldAt();
    const cs = u16(hsEnd, 'cipher_suites length');
    if (cs < 2 || cs & 1) throw new Malformed(`cipher_suites length ${cs}`, f);
    take(cs, hsEnd, 'cipher_suites');
    f = fieldAt();
    const comp = u8(hsEnd, 'legacy_compression_methods length');
    if (comp < 1) throw new Malformed('no compression methods', f);
    take(comp, hsEnd, 'legacy_compression_methods');
    if (p === hsEnd) {
      features.helloEnd = off(hsEnd - 1) + 1;
      return { kind: 'no-sni', features };
    }
    f = fieldAt();
    const extsLen = u16(hsEnd, 'extensions length');
    if (extsLen < 8) throw new Malformed(`extensions length ${extsLen} under 8`, f);
    const extsEnd = p + extsLen;
    if (extsEnd > hsEnd) throw new Malformed('extensions run past the handshake message', f);
    const seen = new Set<number>();
    while (p < extsEnd) {
      f = fieldAt();
      const type = u16(extsEnd, 'extension type');
      const len = u16(extsEnd, 'extension length');
      const extEnd = p + len;
      if (extEnd > extsEnd) throw new Malformed(`extension 0x${type.toString(16)} runs past the extensions`, f);
      if (seen.has(type)) {
        if (type === 0) throw new Malformed('second server_name extension', f);
        features.violations.push(`second extension of type 0x${type.toString(16)} at ${f}`);
      }
      seen.add(type);
      if (type === 0xfe0d) features.ech = true;
      if (type !== 0) {
        take(len, extEnd, 'extension data');
        continue;
      }
      // server_name (RFC 6066 section 3)
      f = fieldAt();
      const listLen = u16(extEnd, 'server_name_list length');
      if (listLen < 1) throw new Malformed('empty server_name_list', f);
      const listEnd = p + listLen;
      if (listEnd > extEnd) throw new Malformed('server_name_list runs past the extension', f);
      const types = new Set<number>();
      while (p < listEnd) {
        f = fieldAt();
        const nameType = u8(listEnd, 'name_type');
        const nameLen = u16(listEnd, 'ServerName length');
        if (p + nameLen > listEnd) throw new Malformed('ServerName runs past the list', f);
        if (types.has(nameType)) {
          if (nameType === 0) throw new Malformed('second host_name', f);
          features.violations.push(`second ServerName of type ${nameType} at ${f}`);
        }
        types.add(nameType);
        if (nameType !== 0) {
          features.otherNameTypes++;
          take(nameLen, listEnd, 'ServerName');
          continue;
        }
        if (nameLen < 1) throw new Malformed('empty host_name', f);
        const s = take(nameLen, listEnd, 'host_name');
        const name = Buffer.from(hs.slice(s, s + nameLen)).toString('latin1');
        found = { name, lower: lowerName(name), nameEndOffset: at[s + nameLen - 1] + 1 };
        features.nameOver253 = found.lower.length > 253;
      }
      if (p < extEnd) throw new Malformed('bytes after the server_name_list', fieldAt());
    }
    if (p < hsEnd) {
      if (p >= avail) throw recErr ?? new Malformed('truncated', stream.length);
      throw new Malformed('bytes after the extensions', off(p));
    }
    features.helloEnd = off(hsEnd - 1) + 1;
  } catch (e) {
    if (!(e instanceof Malformed)) throw e;
    return { kind: 'malformed', reason: e.reason, offset: e.offset, ...(found ?? {}), features };
  }
  return found ? { kind: 'name', ...found, features } : { kind: 'no-sni', features };
}
