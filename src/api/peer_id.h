/*
 * Who is on the other end of an SDK connection, as the kernel saw it when
 * the peer connected (never what the peer claims):
 *   - Unix socket: SO_PEERCRED (pid, uid, gid) and SO_PEERGROUPS
 *     (supplementary groups);
 *   - TCP: the kernel's socket-diagnostics interface (NETLINK_SOCK_DIAG,
 *     inet_diag) looks the peer's own socket up by the connection's
 *     4-tuple. Found means the peer is a process of this host (and network
 *     namespace): its socket's owner uid is the identity. Not found means
 *     the peer is remote and has no identity we can trust.
 * Also: which process holds a TCP port (for "port in use" start-up errors).
 */
#ifndef OPENFM_API_PEER_ID_H
#define OPENFM_API_PEER_ID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define OFM_PEER_MAX_GROUPS 64

typedef struct ofm_peer_id {
    bool local;       /* identity known: a process on this host */
    uid_t uid;
    gid_t gid;        /* Unix socket only (have_groups) */
    pid_t pid;        /* Unix socket only; 0 unknown */
    bool have_groups; /* gid and groups[] are the process's real credentials */
    unsigned ngroups;
    gid_t groups[OFM_PEER_MAX_GROUPS];
} ofm_peer_id;

/* Fill *id for an accepted Unix-socket connection. 0 on success. */
int ofm_peer_id_unix(int fd, ofm_peer_id *id);

/* Fill *id for an accepted IPv4 TCP connection. A peer whose socket the
 * kernel does not know here is reported as not local (returns 0); -1 only
 * when the query itself failed (no identity either). */
int ofm_peer_id_tcp(int fd, ofm_peer_id *id);

/* Is the peer root or a member of `admin_gid` (admin_gid < 0: root only)?
 * Unix peers: their actual groups; TCP peers: the uid's groups in the group
 * database (the only groups a socket owner is known by). */
bool ofm_peer_is_admin(const ofm_peer_id *id, long admin_gid);

/* "pid 1234 (nc)" for the process listening on TCP `port`, or a sentence
 * saying why it cannot be named. Always writes a NUL-terminated string. */
void ofm_tcp_port_owner(uint16_t port, char *buf, size_t len);

#endif
