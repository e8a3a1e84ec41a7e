import { describe, expect, it } from 'vitest';
import { parseDeb822, parseOneLine, pickMirrors, renderSourcesList } from '../../build/apt/sources.js';

// Host names here are placeholders in the reserved .invalid domain.
describe('host apt sources', () => {
  it('parses one-line sources with options and comments', () => {
    const s = parseOneLine(
      [
        '# a comment',
        'deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://a.invalid/debian bookworm main contrib # tail',
        'deb-src http://a.invalid/debian bookworm main',
        'deb http://sec.invalid/debian-security bookworm-security main',
        'garbage line',
      ].join('\n'),
      'sources.list',
    );
    expect(s).toHaveLength(3);
    expect(s[0]).toMatchObject({ types: ['deb'], uris: ['http://a.invalid/debian'], suites: ['bookworm'], components: ['main', 'contrib'] });
    expect(pickMirrors(s)).toEqual({ mirror: 'http://a.invalid/debian', securityMirror: 'http://sec.invalid/debian-security' });
  });

  it('parses deb822 stanzas, skipping comments and disabled ones', () => {
    const text = [
      'Types: deb',
      '# http://snapshot.invalid/archive',
      'URIs: http://off.invalid/debian',
      'Suites: bookworm',
      'Components: main',
      'Enabled: no',
      '',
      'Types: deb deb-src',
      'URIs: http://b.invalid/debian',
      'Suites: bookworm bookworm-updates',
      'Components: main',
      'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg',
      '',
      'Types: deb',
      'URIs: http://b.invalid/debian-security',
      'Suites: bookworm-security',
      'Components: main',
    ].join('\n');
    const s = parseDeb822(text, 'debian.sources');
    expect(s).toHaveLength(3);
    expect(s[0].enabled).toBe(false);
    expect(pickMirrors(s)).toEqual({ mirror: 'http://b.invalid/debian', securityMirror: 'http://b.invalid/debian-security' });
  });

  it('ignores third-party repositories that are not a Debian release', () => {
    const s = parseDeb822('Types: deb\nURIs: https://vendor.invalid/node_20.x\nSuites: nodistro\nComponents: main\n', 'vendor.sources');
    expect(pickMirrors(s)).toBeUndefined();
    const both = [...s, ...parseOneLine('deb http://c.invalid/debian trixie main', 'x.list')];
    expect(pickMirrors(both)?.mirror).toBe('http://c.invalid/debian');
  });

  it('renders the image sources for the target suite', () => {
    expect(renderSourcesList({ mirror: 'http://m.invalid/debian', securityMirror: 'http://s.invalid/ds' }, 'trixie', ['main'])).toBe(
      'deb http://m.invalid/debian trixie main\ndeb http://m.invalid/debian trixie-updates main\ndeb http://s.invalid/ds trixie-security main\n',
    );
    expect(renderSourcesList({ mirror: 'http://m.invalid/debian' }, 'trixie', ['main', 'non-free-firmware'])).not.toMatch(/security/);
  });
});
