/* SPDX-License-Identifier: GPL-2.0 */
/* Pinned maps from another version of xdp-sni. */
#ifndef XSNI_UPGRADE_H
#define XSNI_UPGRADE_H

/* When a pinned map's type, sizes or flags differ from this version's
 * object, make every map again from the state files and move the program
 * onto them on every interface it runs on (dies if this version's program
 * does not load here, with nothing changed). */
void pins_upgrade(void);

#endif
