// The lab's SVCB/HTTPS RDATA encoder (test/lab/svcb.ts): RFC 9460 appendix D
// wire vectors where it has one (D.1, D.2), hand-made ones for the rest.
import { describe, it, expect } from 'vitest';
import { svcbRdata, wireName, dnsmasqHttpsRR } from '../lab/svcb.js';

const hex = (s: string) => s.replace(/\s+/g, '');

describe('SVCB/HTTPS RDATA', () => {
  it('AliasMode: priority 0, a target, no parameters (D.1)', () => {
    expect(svcbRdata(0, 'foo.example.com.').toString('hex')).toBe(hex('0000 03666f6f 076578616d706c65 03636f6d 00'));
  });
  it('ServiceMode with the root as target (D.2, first vector)', () => {
    expect(svcbRdata(1, '.').toString('hex')).toBe('000100');
  });
  it('alpn with two ids (D.2: 16 foo.example.org. alpn=h2,h3-19)', () => {
    expect(svcbRdata(16, 'foo.example.org.', { alpn: ['h2', 'h3-19'] }).toString('hex')).toBe(hex(`
      0010 03666f6f 076578616d706c65 036f7267 00
      0001 0009 02 6832 05 68332d3139`));
  });
  it('port and ipv4hint are written in key order whatever order they are given in', () => {
    const r = svcbRdata(1, '.', { ipv4hint: ['192.0.2.1', '192.0.2.2'], port: 53 });
    expect(r.toString('hex')).toBe(hex('0001 00 0003 0002 0035 0004 0008 c0000201 c0000202'));
  });
  it('ech carries the ECHConfigList as given (base64 or bytes), after alpn', () => {
    const list = Buffer.from('0006fe0d00020102', 'hex');
    const a = svcbRdata(1, '.', { alpn: ['h3', 'h2'], ech: list.toString('base64') });
    expect(a.toString('hex')).toBe(hex('0001 00 0001 0006 026833 026832 0005 0008 0006fe0d00020102'));
    expect(svcbRdata(1, '.', { alpn: ['h3', 'h2'], ech: list })).toEqual(a);
  });
  it('names and the dnsmasq option', () => {
    expect(wireName('.')).toEqual(Buffer.from([0]));
    expect(() => wireName(`${'a'.repeat(64)}.example`)).toThrow(/label too long/);
    expect(dnsmasqHttpsRR('x.example', 1, '.', { alpn: ['h2'] })).toBe('dns-rr=x.example,65,000100000100030268 32'.replace(' ', ''));
  });
});
