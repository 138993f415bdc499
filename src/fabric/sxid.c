/* NVSwitch SXid classification, transcribed from the guide's tables:
 * non-fatal FM §13.4, fatal §13.5, always fatal §13.6, other notable §13.7.
 * Recovery procedures follow FM §3.3.1 and §13.5/§13.6. */
#include "fabric/fabric.h"

#include <stddef.h>

/* Shared impact texts (FM §13.4-§13.6). */
#define NF_ECC "none: the switch corrects single-bit ECC errors in hardware"
#define NF_ECC_RECOVERY "not needed: corrected in hardware"
#define TRUNK_AFFECTED "if seen on a trunk port, partitions using NVSwitch trunk ports are affected"
#define FATAL_GUEST "NVLink traffic of the GPU(s) on this port stops; their CUDA jobs are aborted (Xid 74/45 on the GPU)"
#define FATAL_RECOVERY "access port: shut down the guest VM (bare metal: reset the GPU); trunk port: shut down the partitions that span the trunk, then recreate them"
#define FATAL_OTHERS "access port: none, impact is local to the guest VM; trunk port: partitions using trunk ports"
#define AF_GUEST "fatal to the whole fabric/system"
#define AF_RECOVERY "shut down guest VM partitions, then reboot the host, or reboot the service VM after an SBR of the NVSwitches and GPUs"
#define AF_OTHERS "all VMs"

static const ofm_sxid_info TABLE[] = {
    /* FM §13.4: non-fatal */
    {11004, "Ingress invalid ACL", OFM_SXID_NON_FATAL,
     "NVLink traffic of the GPU is blocked and later accesses hang; CUDA jobs are aborted with Xid 45; only a partition misconfiguration causes it",
     "the guide gives no recovery step for it: check which partitions are active and that their GPUs and routing match the partition table",
     TRUNK_AFFECTED},
    {11012, "Single-bit ECC error", OFM_SXID_NON_FATAL, NF_ECC, NF_ECC_RECOVERY, "none"},
    {11021, "Single-bit ECC error", OFM_SXID_NON_FATAL, NF_ECC, NF_ECC_RECOVERY, "none"},
    {11022, "Single-bit ECC error", OFM_SXID_NON_FATAL, NF_ECC, NF_ECC_RECOVERY, "none"},
    {11023, "Single-bit ECC error", OFM_SXID_NON_FATAL, NF_ECC, NF_ECC_RECOVERY, "none"},
    {12021, "Single-bit ECC error", OFM_SXID_NON_FATAL, NF_ECC, NF_ECC_RECOVERY, "none"},
    {12023, "Single-bit ECC error", OFM_SXID_NON_FATAL, NF_ECC, NF_ECC_RECOVERY, "none"},
    {12028, "Egress non-posted PRIV error", OFM_SXID_NON_FATAL,
     "NVLink traffic of the GPU is blocked and later accesses hang; CUDA jobs are aborted with Xid 45",
     "restart the guest VM", TRUNK_AFFECTED},
    {15008, "Single-bit ECC error", OFM_SXID_NON_FATAL, NF_ECC, NF_ECC_RECOVERY, "none"},
    {15011, "Single-bit ECC error", OFM_SXID_NON_FATAL, NF_ECC, NF_ECC_RECOVERY, "none"},
    {19049, "Single-bit ECC error", OFM_SXID_NON_FATAL, NF_ECC, NF_ECC_RECOVERY, "none"},
    {19055, "Single-bit ECC error", OFM_SXID_NON_FATAL, NF_ECC, NF_ECC_RECOVERY, "none"},
    {19057, "Single-bit ECC error", OFM_SXID_NON_FATAL, NF_ECC, NF_ECC_RECOVERY, "none"},
    {19059, "Single-bit ECC error", OFM_SXID_NON_FATAL, NF_ECC, NF_ECC_RECOVERY, "none"},
    {19062, "Single-bit ECC error", OFM_SXID_NON_FATAL, NF_ECC, NF_ECC_RECOVERY, "none"},
    {19065, "Single-bit ECC error", OFM_SXID_NON_FATAL, NF_ECC, NF_ECC_RECOVERY, "none"},
    {19068, "Single-bit ECC error", OFM_SXID_NON_FATAL, NF_ECC, NF_ECC_RECOVERY, "none"},
    {19071, "Single-bit ECC error", OFM_SXID_NON_FATAL, NF_ECC, NF_ECC_RECOVERY, "none"},
    {19084, "AN1 heartbeat timeout", OFM_SXID_NON_FATAL,
     "usually comes with a fatal SXid that affects the GPU's NVLink traffic",
     "reset all GPUs and all NVSwitches (nvidia-smi -r without -i, fabric manager stopped)", TRUNK_AFFECTED},
    {20001, "TX replay error", OFM_SXID_NON_FATAL,
     "NVLink packets are retransmitted; throughput of the port may drop",
     "not needed: informational, the link recovers by replay",
     "if seen on a trunk port, partitions using trunk ports may see lower throughput"},
    {20012, "Link down (disconnected or uncoordinated shutdown)", OFM_SXID_NON_FATAL,
     "caused by a broken or inconsistent connection, or an uncoordinated shutdown",
     "if it was not caused by an uncoordinated shutdown, check the link's mechanical connection",
     "none if limited to a single GPU"},
    {22013, "Minion link DLREQ interrupt", OFM_SXID_NON_FATAL, "none: safe to ignore", "not needed: safe to ignore", "none"},
    {24001, "Single-bit ECC error", OFM_SXID_NON_FATAL, NF_ECC, NF_ECC_RECOVERY, "none"},
    {24002, "Single-bit ECC error", OFM_SXID_NON_FATAL, NF_ECC, NF_ECC_RECOVERY, "none"},
    {24003, "Single-bit ECC error", OFM_SXID_NON_FATAL, NF_ECC, NF_ECC_RECOVERY, "none"},

    /* FM §13.5: fatal */
    {11001, "Ingress invalid command", OFM_SXID_FATAL, FATAL_GUEST, FATAL_RECOVERY, FATAL_OTHERS},
    {11009, "Ingress invalid VCSet", OFM_SXID_FATAL, FATAL_GUEST, FATAL_RECOVERY, FATAL_OTHERS},
    {11013, "Ingress header DBE", OFM_SXID_FATAL, FATAL_GUEST, FATAL_RECOVERY, FATAL_OTHERS},
    {11018, "Ingress RID DBE", OFM_SXID_FATAL, FATAL_GUEST, FATAL_RECOVERY, FATAL_OTHERS},
    {11019, "Ingress RLAN DBE", OFM_SXID_FATAL, FATAL_GUEST, FATAL_RECOVERY, FATAL_OTHERS},
    {11020, "Ingress control parity", OFM_SXID_FATAL, FATAL_GUEST, FATAL_RECOVERY, FATAL_OTHERS},
    {12001, "Egress crossbar overflow", OFM_SXID_FATAL, FATAL_GUEST, FATAL_RECOVERY, FATAL_OTHERS},
    {12002, "Egress packet route", OFM_SXID_FATAL, FATAL_GUEST, FATAL_RECOVERY, FATAL_OTHERS},
    {12022, "Egress input ECC DBE error", OFM_SXID_FATAL, FATAL_GUEST, FATAL_RECOVERY, FATAL_OTHERS},
    {12024, "Egress output ECC DBE error", OFM_SXID_FATAL, FATAL_GUEST, FATAL_RECOVERY, FATAL_OTHERS},
    {12025, "Egress credit overflow", OFM_SXID_FATAL, FATAL_GUEST, FATAL_RECOVERY, FATAL_OTHERS},
    {12026, "Egress destination request ID error", OFM_SXID_FATAL, FATAL_GUEST, FATAL_RECOVERY, FATAL_OTHERS},
    {12027, "Egress destination response ID error", OFM_SXID_FATAL, FATAL_GUEST, FATAL_RECOVERY, FATAL_OTHERS},
    {12030, "Egress control parity error", OFM_SXID_FATAL, FATAL_GUEST, FATAL_RECOVERY, FATAL_OTHERS},
    {12031, "Egress credit parity error", OFM_SXID_FATAL, FATAL_GUEST, FATAL_RECOVERY, FATAL_OTHERS},
    {12032, "Egress flit type mismatch", OFM_SXID_FATAL, FATAL_GUEST, FATAL_RECOVERY, FATAL_OTHERS},
    {14017, "TS ATO timeout", OFM_SXID_FATAL, FATAL_GUEST, FATAL_RECOVERY, FATAL_OTHERS},
    {15001, "Route buffer overflow/underflow", OFM_SXID_FATAL, FATAL_GUEST, FATAL_RECOVERY, FATAL_OTHERS},
    {15006, "Route transdone overflow/underflow", OFM_SXID_FATAL, FATAL_GUEST, FATAL_RECOVERY, FATAL_OTHERS},
    {15009, "Route GLT DBE", OFM_SXID_FATAL, FATAL_GUEST, FATAL_RECOVERY, FATAL_OTHERS},
    {15010, "Route parity", OFM_SXID_FATAL, FATAL_GUEST, FATAL_RECOVERY, FATAL_OTHERS},
    {15012, "Route incoming DBE", OFM_SXID_FATAL, FATAL_GUEST, FATAL_RECOVERY, FATAL_OTHERS},
    {15013, "Route credit parity", OFM_SXID_FATAL, FATAL_GUEST, FATAL_RECOVERY, FATAL_OTHERS},
    {19047, "NCISOC header ECC DBE error", OFM_SXID_FATAL, FATAL_GUEST, FATAL_RECOVERY, FATAL_OTHERS},
    {19048, "NCISOC data ECC DBE error", OFM_SXID_FATAL, FATAL_GUEST, FATAL_RECOVERY, FATAL_OTHERS},
    {19054, "HDR RAM ECC DBE error", OFM_SXID_FATAL, FATAL_GUEST, FATAL_RECOVERY, FATAL_OTHERS},
    {19056, "DAT0 RAM ECC DBE error", OFM_SXID_FATAL, FATAL_GUEST, FATAL_RECOVERY, FATAL_OTHERS},
    {19058, "DAT1 RAM ECC DBE error", OFM_SXID_FATAL, FATAL_GUEST, FATAL_RECOVERY, FATAL_OTHERS},
    {19060, "CREQ RAM header ECC DBE error", OFM_SXID_FATAL, FATAL_GUEST, FATAL_RECOVERY, FATAL_OTHERS},
    {19061, "CREQ RAM data ECC DBE error", OFM_SXID_FATAL, FATAL_GUEST, FATAL_RECOVERY, FATAL_OTHERS},
    {19063, "Response RAM header ECC DBE error", OFM_SXID_FATAL, FATAL_GUEST, FATAL_RECOVERY, FATAL_OTHERS},
    {19064, "Response RAM data ECC DBE error", OFM_SXID_FATAL, FATAL_GUEST, FATAL_RECOVERY, FATAL_OTHERS},
    {19066, "COM RAM header ECC DBE error", OFM_SXID_FATAL, FATAL_GUEST, FATAL_RECOVERY, FATAL_OTHERS},
    {19067, "COM RAM data ECC DBE error", OFM_SXID_FATAL, FATAL_GUEST, FATAL_RECOVERY, FATAL_OTHERS},
    {19069, "RSP1 RAM header ECC DBE error", OFM_SXID_FATAL, FATAL_GUEST, FATAL_RECOVERY, FATAL_OTHERS},
    {19070, "RSP1 RAM data ECC DBE error", OFM_SXID_FATAL, FATAL_GUEST, FATAL_RECOVERY, FATAL_OTHERS},
    {20034, "LTSSM fault up", OFM_SXID_FATAL,
     "raised whenever the link goes from active to down; usually comes with other NVLink errors",
     "A100: restart the VM; H100: reset the GPU; report a GPU issue if it persists",
     "none if limited to a single GPU"},
    {22012, "Minion link NA interrupt", OFM_SXID_FATAL, FATAL_GUEST, FATAL_RECOVERY, FATAL_OTHERS},
    {24004, "Sourcetrack TCEN0 crumbstore DBE", OFM_SXID_FATAL, FATAL_GUEST, FATAL_RECOVERY, FATAL_OTHERS},
    {24005, "Sourcetrack TCEN0 TD crumbstore DBE", OFM_SXID_FATAL, FATAL_GUEST, FATAL_RECOVERY, FATAL_OTHERS},
    {24006, "Sourcetrack TCEN1 crumbstore DBE", OFM_SXID_FATAL, FATAL_GUEST, FATAL_RECOVERY, FATAL_OTHERS},
    {24007, "Sourcetrack timeout error", OFM_SXID_FATAL, FATAL_GUEST, FATAL_RECOVERY, FATAL_OTHERS},

    /* FM §13.6: always fatal */
    {12020, "Egress sequence ID error", OFM_SXID_ALWAYS_FATAL, AF_GUEST, AF_RECOVERY, AF_OTHERS},
    {22003, "Minion halt", OFM_SXID_ALWAYS_FATAL, AF_GUEST, AF_RECOVERY, AF_OTHERS},
    {22011, "Minion exterror", OFM_SXID_ALWAYS_FATAL, AF_GUEST, AF_RECOVERY, AF_OTHERS},
    {23001, "Ingress SRC-VC buffer overflow", OFM_SXID_ALWAYS_FATAL, AF_GUEST, AF_RECOVERY, AF_OTHERS},
    {23002, "Ingress SRC-VC buffer underflow", OFM_SXID_ALWAYS_FATAL, AF_GUEST, AF_RECOVERY, AF_OTHERS},
    {23003, "Egress DST-VC credit overflow", OFM_SXID_ALWAYS_FATAL, AF_GUEST, AF_RECOVERY, AF_OTHERS},
    {23004, "Egress DST-VC credit underflow", OFM_SXID_ALWAYS_FATAL, AF_GUEST, AF_RECOVERY, AF_OTHERS},
    {23005, "Ingress packet burst error", OFM_SXID_ALWAYS_FATAL, AF_GUEST, AF_RECOVERY, AF_OTHERS},
    {23006, "Ingress packet sticky error", OFM_SXID_ALWAYS_FATAL, AF_GUEST, AF_RECOVERY, AF_OTHERS},
    {23007, "Ingress possible bubble", OFM_SXID_ALWAYS_FATAL, AF_GUEST, AF_RECOVERY, AF_OTHERS},
    {23008, "Ingress packet invalid destination error", OFM_SXID_ALWAYS_FATAL, AF_GUEST, AF_RECOVERY, AF_OTHERS},
    {23009, "Ingress packet parity error", OFM_SXID_ALWAYS_FATAL, AF_GUEST, AF_RECOVERY, AF_OTHERS},
    {23010, "Ingress SRC-VC buffer overflow", OFM_SXID_ALWAYS_FATAL, AF_GUEST, AF_RECOVERY, AF_OTHERS},
    {23011, "Ingress SRC-VC buffer underflow", OFM_SXID_ALWAYS_FATAL, AF_GUEST, AF_RECOVERY, AF_OTHERS},
    {23012, "Egress DST-VC credit overflow", OFM_SXID_ALWAYS_FATAL, AF_GUEST, AF_RECOVERY, AF_OTHERS},
    {23013, "Egress DST-VC credit underflow", OFM_SXID_ALWAYS_FATAL, AF_GUEST, AF_RECOVERY, AF_OTHERS},
    {23014, "Ingress packet burst error", OFM_SXID_ALWAYS_FATAL, AF_GUEST, AF_RECOVERY, AF_OTHERS},
    {23015, "Ingress packet sticky error", OFM_SXID_ALWAYS_FATAL, AF_GUEST, AF_RECOVERY, AF_OTHERS},
    {23016, "Ingress possible bubble", OFM_SXID_ALWAYS_FATAL, AF_GUEST, AF_RECOVERY, AF_OTHERS},
    {23017, "Ingress credit parity error", OFM_SXID_ALWAYS_FATAL, AF_GUEST, AF_RECOVERY, AF_OTHERS},

    /* FM §13.7: other notable */
    {10001, "Host error", OFM_SXID_NOTABLE, "not fatal to the fabric, but fatal events may follow",
     "watch for following fatal SXids", "none"},
    {10002, "Host error", OFM_SXID_NOTABLE, "not fatal to the fabric, but fatal events may follow",
     "watch for following fatal SXids", "none"},
    {10003, "Host error (never expected)", OFM_SXID_NOTABLE, "fatal to the fabric/system",
     "reset all GPUs and all NVSwitches (nvidia-smi -r without -i, fabric manager stopped)",
     TRUNK_AFFECTED},
    {10004, "Thermal event", OFM_SXID_NOTABLE,
     "system cooling may be insufficient; the link may drop to single-lane power-saving mode, lowering NVLink throughput",
     "check system cooling", "none"},
    {10005, "Thermal event", OFM_SXID_NOTABLE, "system cooling may be insufficient",
     "check system cooling", "none"},
};

const ofm_sxid_info *ofm_sxid_lookup(uint32_t code)
{
    for (size_t i = 0; i < sizeof TABLE / sizeof TABLE[0]; i++)
        if (TABLE[i].code == code)
            return &TABLE[i];
    return NULL;
}

const char *ofm_sxid_class_name(ofm_sxid_class c)
{
    switch (c) {
    case OFM_SXID_NON_FATAL: return "non-fatal";
    case OFM_SXID_FATAL: return "fatal";
    case OFM_SXID_ALWAYS_FATAL: return "always fatal";
    case OFM_SXID_NOTABLE: return "notable";
    case OFM_SXID_UNKNOWN: break;
    }
    return "unclassified";
}

ofm_sxid_class ofm_sxid_classify(uint32_t code, bool hw_fatal)
{
    const ofm_sxid_info *i = ofm_sxid_lookup(code);
    if (i)
        return i->cls;
    return hw_fatal ? OFM_SXID_FATAL : OFM_SXID_NON_FATAL;
}

const char *ofm_sxid_recovery(ofm_sxid_class c, bool trunk, ofm_fabric_mode mode)
{
    bool vm = mode != OFM_FABRIC_MODE_BARE_METAL;
    switch (c) {
    case OFM_SXID_ALWAYS_FATAL:
        return vm ? "shut down the guest VM partitions, then reboot the host, or reset (SBR) the "
                    "NVSwitches and GPUs and reboot the service VM (FM §13.6)"
                  : "stop all CUDA applications, then reboot or power-cycle the system (FM §13.6)";
    case OFM_SXID_FATAL:
        if (trunk)
            return vm ? "shut down the guest VM partitions that span the trunk port, then recreate "
                        "them (FM §13.5)"
                      : "stop the fabric manager, stop all applications using the GPUs, reset all "
                        "GPUs and NVSwitches with nvidia-smi -r (without -i), start the fabric "
                        "manager again; reboot or power-cycle if the problem persists (FM §3.3.1.2)";
        return vm ? "shut down the guest VM using this GPU; other VMs are not affected (FM §13.5)"
                  : "reset the GPU and every GPU of the affected workload with nvidia-smi -r; "
                    "reboot or power-cycle if the problem persists (FM §3.3.1.2)";
    case OFM_SXID_NOTABLE:
        return "not fatal by itself: watch for fatal SXids that may follow (FM §13.7)";
    case OFM_SXID_NON_FATAL:
    case OFM_SXID_UNKNOWN:
        break;
    }
    return "none needed: informational, running CUDA jobs continue (FM §3.3.1.1)";
}

bool ofm_sxid_fabric_fatal(uint32_t code, bool hw_fatal)
{
    /* 10003 sits in the "other notable" table, but the guide calls it fatal
     * to the fabric/system (FM §13.7) */
    return code == 10003 || ofm_sxid_classify(code, hw_fatal) == OFM_SXID_ALWAYS_FATAL;
}

bool ofm_sxid_is_fatal(uint32_t code, bool hw_fatal)
{
    ofm_sxid_class c = ofm_sxid_classify(code, hw_fatal);
    return c == OFM_SXID_FATAL || c == OFM_SXID_ALWAYS_FATAL || ofm_sxid_fabric_fatal(code, hw_fatal);
}

void ofm_sxid_advice(uint32_t code, bool hw_fatal, bool trunk, ofm_fabric_mode mode,
                     const char **impact, const char **recovery)
{
    const ofm_sxid_info *i = ofm_sxid_lookup(code);
    ofm_sxid_class c = ofm_sxid_classify(code, hw_fatal);
    if (!i) {
        *impact = c == OFM_SXID_FATAL ? FATAL_GUEST
                                      : "not in the guide's tables; reported as non-fatal by the "
                                        "switch";
        *recovery = ofm_sxid_recovery(c, trunk, mode);
        return;
    }
    *impact = i->guest_impact;
    /* The guide's per-code text wins where it gives one (the non-fatal and
     * notable tables, and 20034); the generic fatal and always-fatal rows
     * depend on the port's scope and the mode. */
    if (c == OFM_SXID_NON_FATAL || c == OFM_SXID_NOTABLE || code == 20034)
        *recovery = i->guest_recovery;
    else
        *recovery = ofm_sxid_recovery(c, trunk, mode);
}
