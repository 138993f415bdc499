/* Peer identity from the kernel: SO_PEERCRED/SO_PEERGROUPS on Unix sockets,
 * inet_diag (NETLINK_SOCK_DIAG) on TCP. See peer_id.h. */
#include "api/peer_id.h"

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

int ofm_peer_id_unix(int fd, ofm_peer_id *id)
{
    memset(id, 0, sizeof *id);
    struct ucred uc;
    socklen_t l = sizeof uc;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &l) != 0 || l != sizeof uc)
        return -1;
    id->local = true;
    id->uid = uc.uid;
    id->gid = uc.gid;
    id->pid = uc.pid;
    id->have_groups = true;
    gid_t g[OFM_PEER_MAX_GROUPS];
    l = sizeof g;
    /* A peer in more groups than we keep (ERANGE) is judged by its primary
     * group alone: it may be refused, never wrongly admitted. */
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &l) == 0 && l <= sizeof g) {
        id->ngroups = (unsigned)(l / sizeof g[0]);
        memcpy(id->groups, g, id->ngroups * sizeof g[0]);
    }
    return 0;
}

/* One request, one answer on a netlink socket with a short receive timeout:
 * the kernel answers at once; the timeout only guards a broken kernel. */
static int diag_socket(void)
{
    int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (nl < 0)
        return -1;
    struct timeval tv = {1, 0};
    setsockopt(nl, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return nl;
}

int ofm_peer_id_tcp(int fd, ofm_peer_id *id)
{
    memset(id, 0, sizeof *id);
    struct sockaddr_in self, peer;
    socklen_t sl = sizeof self, pl = sizeof peer;
    if (getsockname(fd, (struct sockaddr *)&self, &sl) != 0 ||
        getpeername(fd, (struct sockaddr *)&peer, &pl) != 0 || self.sin_family != AF_INET ||
        peer.sin_family != AF_INET)
        return -1;
    int nl = diag_socket();
    if (nl < 0)
        return -1;
    struct {
        struct nlmsghdr nlh;
        struct inet_diag_req_v2 r;
    } req;
    memset(&req, 0, sizeof req);
    req.nlh.nlmsg_len = sizeof req;
    req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    req.nlh.nlmsg_flags = NLM_F_REQUEST;
    req.r.sdiag_family = AF_INET;
    req.r.sdiag_protocol = IPPROTO_TCP;
    req.r.idiag_states = ~0u;
    /* the peer's socket: its local end is our remote end and vice versa */
    req.r.id.idiag_sport = peer.sin_port;
    req.r.id.idiag_dport = self.sin_port;
    req.r.id.idiag_src[0] = peer.sin_addr.s_addr;
    req.r.id.idiag_dst[0] = self.sin_addr.s_addr;
    req.r.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
    req.r.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    int rc = -1;
    if (sendto(nl, &req, sizeof req, 0, (struct sockaddr *)&kernel, sizeof kernel) ==
        (ssize_t)sizeof req) {
        long buf[2048 / sizeof(long)];
        ssize_t n = recv(nl, buf, sizeof buf, 0);
        struct nlmsghdr *h = (struct nlmsghdr *)buf;
        if (n > 0 && NLMSG_OK(h, (size_t)n)) {
            if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY &&
                h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct inet_diag_msg))) {
                const struct inet_diag_msg *m = NLMSG_DATA(h);
                id->local = true;
                id->uid = m->idiag_uid;
                rc = 0;
            } else if (h->nlmsg_type == NLMSG_ERROR) {
                /* ENOENT: no such socket here, i.e. a remote peer */
                const struct nlmsgerr *e = NLMSG_DATA(h);
                rc = e->error == -ENOENT ? 0 : -1;
            }
        }
    }
    close(nl);
    return rc;
}

static bool has_gid(const gid_t *g, unsigned n, gid_t want)
{
    for (unsigned i = 0; i < n; i++)
        if (g[i] == want)
            return true;
    return false;
}

bool ofm_peer_is_admin(const ofm_peer_id *id, long admin_gid)
{
    if (!id->local)
        return false;
    if (id->uid == 0)
        return true;
    if (admin_gid < 0)
        return false;
    gid_t want = (gid_t)admin_gid;
    if (id->have_groups)
        return id->gid == want || has_gid(id->groups, id->ngroups, want);
    struct passwd pw, *pwp = NULL;
    char sbuf[4096];
    if (getpwuid_r(id->uid, &pw, sbuf, sizeof sbuf, &pwp) != 0 || !pwp)
        return false;
    gid_t g[OFM_PEER_MAX_GROUPS];
    int n = OFM_PEER_MAX_GROUPS;
    if (getgrouplist(pw.pw_name, pw.pw_gid, g, &n) < 0)
        n = OFM_PEER_MAX_GROUPS; /* truncated: what fitted */
    return has_gid(g, (unsigned)n, want);
}

/* inode of the socket listening on TCP `port` (any address), 0 if none. */
static unsigned long listener_inode(uint16_t port, uid_t *uid)
{
    int nl = diag_socket();
    if (nl < 0)
        return 0;
    struct {
        struct nlmsghdr nlh;
        struct inet_diag_req_v2 r;
    } req;
    memset(&req, 0, sizeof req);
    req.nlh.nlmsg_len = sizeof req;
    req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.r.sdiag_family = AF_INET;
    req.r.sdiag_protocol = IPPROTO_TCP;
    req.r.idiag_states = 1u << TCP_LISTEN;
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    unsigned long inode = 0;
    if (sendto(nl, &req, sizeof req, 0, (struct sockaddr *)&kernel, sizeof kernel) !=
        (ssize_t)sizeof req) {
        close(nl);
        return 0;
    }
    for (bool done = false; !done && !inode;) {
        long buf[8192 / sizeof(long)];
        ssize_t n = recv(nl, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
             h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
                done = true;
                break;
            }
            if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
                continue;
            const struct inet_diag_msg *m = NLMSG_DATA(h);
            if (ntohs(m->id.idiag_sport) == port) {
                inode = m->idiag_inode;
                *uid = m->idiag_uid;
                break;
            }
        }
    }
    close(nl);
    return inode;
}

/* First process with `socket:[inode]` among its fds; 0 if none visible. */
static pid_t inode_owner(unsigned long inode)
{
    char want[64];
    snprintf(want, sizeof want, "socket:[%lu]", inode);
    DIR *proc = opendir("/proc");
    if (!proc)
        return 0;
    pid_t found = 0;
    struct dirent *de;
    while (!found && (de = readdir(proc))) {
        char *end;
        long pid = strtol(de->d_name, &end, 10);
        if (*end || pid <= 0)
            continue;
        char fdir[64];
        snprintf(fdir, sizeof fdir, "/proc/%ld/fd", pid);
        DIR *fds = opendir(fdir);
        if (!fds)
            continue;
        struct dirent *fe;
        while ((fe = readdir(fds))) {
            char lp[128], target[64];
            snprintf(lp, sizeof lp, "%s/%.32s", fdir, fe->d_name);
            ssize_t n = readlink(lp, target, sizeof target - 1);
            if (n <= 0)
                continue;
            target[n] = '\0';
            if (!strcmp(target, want)) {
                found = (pid_t)pid;
                break;
            }
        }
        closedir(fds);
    }
    closedir(proc);
    return found;
}

void ofm_tcp_port_owner(uint16_t port, char *buf, size_t len)
{
    uid_t uid = 0;
    unsigned long inode = listener_inode(port, &uid);
    if (!inode) {
        snprintf(buf, len, "the process holding it could not be identified");
        return;
    }
    pid_t pid = inode_owner(inode);
    if (!pid) {
        snprintf(buf, len, "held by a process of uid %u that /proc does not show us (socket "
                 "inode %lu)", (unsigned)uid, inode);
        return;
    }
    char path[64], comm[64] = "?";
    snprintf(path, sizeof path, "/proc/%ld/comm", (long)pid);
    FILE *f = fopen(path, "re");
    if (f) {
        if (fgets(comm, sizeof comm, f))
            comm[strcspn(comm, "\n")] = '\0';
        fclose(f);
    }
    snprintf(buf, len, "held by pid %ld (%s, uid %u)", (long)pid, comm, (unsigned)uid);
}
