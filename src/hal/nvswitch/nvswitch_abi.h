/* The NVSwitch kernel driver's ioctl interface, release 580.95.05 (x86_64).
 *
 * Declared here in our own words from the public open-gpu-kernel-modules
 * sources (src/common/nvswitch/interface/ctrl_dev_nvswitch.h,
 * ioctl_common_nvswitch.h, kernel-open/nvidia/ioctl_nvswitch.h). Layouts,
 * command numbers and sizes are facts of that ABI: the driver rejects a call
 * whose encoded size differs by one byte (EINVAL), so every size is pinned
 * below. Shared by the backend and by the test driver model: both must speak
 * the same bytes; neither shares any other logic. */
#ifndef OPENFM_NVSWITCH_ABI_H
#define OPENFM_NVSWITCH_ABI_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>

/* The exact version string the driver compares in CHECK_VERSION. */
#define NVSW_ABI_VERSION "580.95.05"
#define NVSW_ABI_BRANCH "580"

#define NVSW_CTL_PATH "/dev/nvidia-nvswitchctl"
#define NVSW_DEV_PATH_FMT "/dev/nvidia-nvswitch%u"
#define NVSW_CAP_PROC_PATH "/proc/driver/nvidia-nvlink/capabilities/fabric-mgmt"
#define NVSW_CAP_DEV_FMT "/dev/nvidia-caps/nvidia-cap%u"

#define NVSW_IOC_CTL 'c'   /* control node */
#define NVSW_IOC_DEV 'd'   /* per-switch node */

#define NVSW_MAX_DEVICES 64
#define NVSW_MAX_LINKS 64
#define NVSW_VERSION_LEN 64
#define NVSW_UUID_LEN 16

/* ------------------------------------------------------------ control node */

enum { NVSW_CTL_GET_DEVICES = 0x01, NVSW_CTL_CHECK_VERSION = 0x02, NVSW_CTL_GET_DEVICES_V2 = 0x03 };

typedef struct {
    char user[NVSW_VERSION_LEN];    /* in: the caller's ABI version */
    char kernel[NVSW_VERSION_LEN];  /* out: the driver's */
    uint8_t is_compatible;          /* out */
} nvsw_check_version;

/* Driver fabric state (the manager's liveness, as the driver sees it). */
enum {
    NVSW_DRV_OFFLINE = 0,
    NVSW_DRV_STANDBY = 1,
    NVSW_DRV_CONFIGURED = 2,
    NVSW_DRV_MANAGER_TIMEOUT = 3,
    NVSW_DRV_MANAGER_ERROR = 4,
};
/* Device fabric state. */
enum { NVSW_DEVST_OFFLINE = 0, NVSW_DEVST_STANDBY = 1, NVSW_DEVST_CONFIGURED = 2, NVSW_DEVST_BLACKLISTED = 3 };
/* Why a device is excluded (blacklisted). */
enum {
    NVSW_BL_NONE = 0,
    NVSW_BL_MANUAL_OUT_OF_BAND = 1,
    NVSW_BL_MANUAL_IN_BAND = 2,
    NVSW_BL_MANUAL_PEER = 3,
    NVSW_BL_TRUNK_LINK_FAILURE = 4,
    NVSW_BL_TRUNK_LINK_FAILURE_PEER = 5,
    NVSW_BL_ACCESS_LINK_FAILURE = 6,
    NVSW_BL_ACCESS_LINK_FAILURE_PEER = 7,
    NVSW_BL_UNSPEC_DEVICE_FAILURE = 8,
    NVSW_BL_UNSPEC_DEVICE_FAILURE_PEER = 9,
};

typedef struct {
    uint32_t instance;              /* N of /dev/nvidia-nvswitchN */
    uint8_t uuid[NVSW_UUID_LEN];
    uint32_t pci_domain, pci_bus, pci_device, pci_function;
    uint32_t driver_state;          /* NVSW_DRV_* */
    uint32_t device_state;          /* NVSW_DEVST_* */
    uint32_t blacklist_reason;      /* NVSW_BL_* */
    uint32_t phys_id;
    uint8_t tnvl_enabled;
} nvsw_device_info_v2;

typedef struct {
    uint32_t count;
    nvsw_device_info_v2 info[NVSW_MAX_DEVICES];
} nvsw_get_devices_v2;

/* ------------------------------------------------------------ switch node */

enum {
    NVSW_CMD_GET_INFO = 0x01,
    NVSW_CMD_SET_SWITCH_PORT_CONFIG = 0x02,
    NVSW_CMD_GET_ERRORS = 0x0c,
    NVSW_CMD_SET_REMAP_POLICY = 0x0d,
    NVSW_CMD_SET_ROUTING_ID = 0x0e,
    NVSW_CMD_SET_ROUTING_LAN = 0x0f,
    NVSW_CMD_GET_ROUTING_LAN = 0x15,
    NVSW_CMD_SET_ROUTING_LAN_VALID = 0x16,
    NVSW_CMD_GET_NVLINK_STATUS = 0x17,
    NVSW_CMD_ACQUIRE_CAPABILITY = 0x18,
    NVSW_CMD_GET_ROUTING_ID = 0x19,
    NVSW_CMD_SET_ROUTING_ID_VALID = 0x1a,
    NVSW_CMD_GET_REMAP_POLICY = 0x1c,
    NVSW_CMD_SET_REMAP_POLICY_VALID = 0x1d,
    NVSW_CMD_SET_FM_DRIVER_STATE = 0x21,
    NVSW_CMD_SET_DEVICE_FABRIC_STATE = 0x22,
    NVSW_CMD_SET_FM_HEARTBEAT_TIMEOUT = 0x23,
    NVSW_CMD_INBAND_SEND_DATA = 0x43,
    NVSW_CMD_INBAND_READ_DATA = 0x44,
    NVSW_CMD_INBAND_FLUSH_DATA = 0x45,
    NVSW_CMD_INBAND_PENDING_DATA_STATS = 0x46,
};

/* GET_INFO: up to 32 (index, value) queries per call. */
#define NVSW_INFO_MAX 32
enum {
    NVSW_INFO_ARCH = 0x0,
    NVSW_INFO_IMPL = 0x1,
    NVSW_INFO_PLATFORM = 0x6,
    NVSW_INFO_DEVICE_ID = 0x7,
    NVSW_INFO_NUM_PORTS = 0x100,
    NVSW_INFO_ENABLED_PORTS_LO = 0x101,
    NVSW_INFO_ENABLED_PORTS_HI = 0x102,
    NVSW_INFO_NUM_VCS = 0x103,
    NVSW_INFO_REMAP_SIZE = 0x104,
    NVSW_INFO_RID_SIZE = 0x105,
    NVSW_INFO_RLAN_SIZE = 0x106,
    NVSW_INFO_PHYSICAL_ID = 0x203,
    NVSW_INFO_PCI_DOMAIN = 0x300,
    NVSW_INFO_PCI_BUS = 0x301,
    NVSW_INFO_PCI_DEVICE = 0x302,
    NVSW_INFO_PCI_FUNCTION = 0x303,
};
/* Architecture numbers: SV10 is the first generation (not in this enum on
 * the driver side: its devices use another ABI). */
enum { NVSW_ARCH_SV10 = 0x01, NVSW_ARCH_LR10 = 0x02, NVSW_ARCH_LS10 = 0x03 };

typedef struct {
    uint32_t count;
    uint32_t index[NVSW_INFO_MAX];
    uint32_t info[NVSW_INFO_MAX];
} nvsw_get_info;

/* Port configuration. */
enum { NVSW_CONN_ACCESS_GPU = 0, NVSW_CONN_ACCESS_CPU = 1, NVSW_CONN_TRUNK_SWITCH = 2, NVSW_CONN_ACCESS_SWITCH = 3 };
enum { NVSW_CONN_COUNT_512 = 0, NVSW_CONN_COUNT_1024 = 1, NVSW_CONN_COUNT_2048 = 2 };
typedef struct {
    uint32_t port;
    uint32_t type;                  /* NVSW_CONN_* */
    uint32_t requester_link_id;     /* 11 bits on LS10 */
    uint32_t requester_lan_id;
    uint32_t count;                 /* NVSW_CONN_COUNT_* */
    uint8_t ac_coupled;
    uint8_t enable_vc1;
    uint64_t trunk_src_mask;
} nvsw_port_config;

/* Errors (GET_ERRORS): fatal and non-fatal rings read with a cursor. */
enum { NVSW_SEV_NONFATAL = 0, NVSW_SEV_FATAL = 1 };
#define NVSW_ERRORS_PER_CALL 64
typedef struct {
    uint32_t value;                 /* the SXid number */
    uint32_t source;
    uint32_t instance;              /* link (port) */
    uint32_t subinstance;
    uint64_t time_ns;
    uint8_t resolved;
    uint32_t data[16];
    uint32_t data_size;
    uint8_t description[70];
} nvsw_error;

typedef struct {
    uint32_t severity;              /* in: NVSW_SEV_* */
    uint64_t index;                 /* in: first error index wanted */
    uint64_t next_index;            /* out: where to continue */
    uint32_t count;                 /* out */
    nvsw_error error[NVSW_ERRORS_PER_CALL];
} nvsw_get_errors;

/* Remap policy table (LS10: primary 4096 deep, ext A/B 64, multicast 128). */
#define NVSW_TABLE_BATCH 64
enum { NVSW_REMAP_PRIMARY = 0, NVSW_REMAP_EXTA = 1, NVSW_REMAP_EXTB = 2, NVSW_REMAP_MULTICAST = 3 };
enum {
    NVSW_REMAP_FLAG_REMAP_ADDR = 1u << 0,
    NVSW_REMAP_FLAG_REQCTXT_CHECK = 1u << 1,
    NVSW_REMAP_FLAG_REQCTXT_REPLACE = 1u << 2,
    NVSW_REMAP_FLAG_ADR_BASE = 1u << 4,
    NVSW_REMAP_FLAG_ADR_OFFSET = 1u << 5,
    NVSW_REMAP_FLAG_REFLECTIVE = 1u << 30,
    NVSW_REMAP_FLAG_ADDR_TYPE = 1u << 31,
};
typedef struct {
    uint8_t valid;
    uint32_t target_id;             /* endpoint ID, at most 0x7ff */
    uint32_t irl_select;
    uint32_t flags;                 /* NVSW_REMAP_FLAG_* */
    uint64_t address;               /* bits 46:36 used */
    uint32_t req_ctx_mask, req_ctx_check, req_ctx_replace;
    uint64_t address_offset, address_base, address_limit;
} nvsw_remap_entry;

typedef struct {
    uint32_t port;
    uint32_t table;                 /* NVSW_REMAP_* */
    uint32_t first;
    uint32_t count;
    nvsw_remap_entry entry[NVSW_TABLE_BATCH];
} nvsw_set_remap;

typedef struct {
    uint32_t port;
    uint32_t table;
    uint32_t first;                 /* in */
    uint32_t count;                 /* out: non-empty entries returned */
    uint32_t next;                  /* out: index after the last one scanned */
    nvsw_remap_entry entry[NVSW_TABLE_BATCH];
} nvsw_get_remap;

typedef struct {
    uint32_t port;
    uint32_t table;
    uint32_t first;
    uint32_t count;
    uint8_t valid[NVSW_TABLE_BATCH];
} nvsw_set_remap_valid;

/* Routing ID table: target ID -> up to 16 destination ports. */
#define NVSW_RID_PORTS_MAX 16
enum { NVSW_VCMAP_SAME = 0, NVSW_VCMAP_INVERT = 1, NVSW_VCMAP_ZERO = 2, NVSW_VCMAP_ONE = 3 };
typedef struct {
    uint32_t vc_map;
    uint32_t port;
} nvsw_rid_port;
typedef struct {
    uint8_t valid;
    uint8_t use_routing_lan;
    uint8_t irl_err_response;
    uint32_t nports;                /* 1..16 */
    nvsw_rid_port ports[NVSW_RID_PORTS_MAX];
} nvsw_rid_entry;

typedef struct {
    uint32_t port;
    uint32_t first;
    uint32_t count;
    nvsw_rid_entry entry[NVSW_TABLE_BATCH];
} nvsw_set_rid;

typedef struct {
    uint32_t index;
    nvsw_rid_entry entry;
} nvsw_rid_idx_entry;

typedef struct {
    uint32_t port;
    uint32_t first;
    uint32_t count;
    uint32_t next;
    nvsw_rid_idx_entry entry[NVSW_TABLE_BATCH];
} nvsw_get_rid;

typedef struct {
    uint32_t port;
    uint32_t first;
    uint32_t count;
    uint8_t valid[NVSW_TABLE_BATCH];
} nvsw_set_rid_valid;

/* Routing LAN table: how the RID entry's port list splits into groups. */
#define NVSW_RLAN_GROUPS_MAX 16
typedef struct {
    uint32_t group_select;
    uint32_t group_size;            /* 1..16 */
} nvsw_rlan_group;
typedef struct {
    uint8_t valid;
    uint32_t ngroups;
    nvsw_rlan_group group[NVSW_RLAN_GROUPS_MAX];
} nvsw_rlan_entry;

typedef struct {
    uint32_t port;
    uint32_t first;
    uint32_t count;
    nvsw_rlan_entry entry[NVSW_TABLE_BATCH];
} nvsw_set_rlan;

typedef struct {
    uint32_t index;
    nvsw_rlan_entry entry;
} nvsw_rlan_idx_entry;

typedef struct {
    uint32_t port;
    uint32_t first;
    uint32_t count;
    uint32_t next;
    nvsw_rlan_idx_entry entry[NVSW_TABLE_BATCH];
} nvsw_get_rlan;

typedef struct {
    uint32_t port;
    uint32_t first;
    uint32_t count;
    uint8_t valid[NVSW_TABLE_BATCH];
} nvsw_set_rlan_valid;

/* NVLink status of every port. */
enum { NVSW_DEVTYPE_EBRIDGE = 0, NVSW_DEVTYPE_NPU = 1, NVSW_DEVTYPE_GPU = 2, NVSW_DEVTYPE_SWITCH = 3,
       NVSW_DEVTYPE_NONE = 0xff };
enum { NVSW_DEVID_PCI = 1u << 0, NVSW_DEVID_UUID = 1u << 1 };
enum {
    NVSW_LINK_INIT = 0x0,
    NVSW_LINK_HWCFG = 0x1,
    NVSW_LINK_SWCFG = 0x2,
    NVSW_LINK_ACTIVE = 0x3,
    NVSW_LINK_FAULT = 0x4,
    NVSW_LINK_SLEEP = 0x5,
    NVSW_LINK_RECOVERY = 0x6,
    NVSW_LINK_HWPCFG = 0xc,
};
typedef struct {
    uint32_t id_flags;              /* NVSW_DEVID_* */
    uint32_t domain;
    uint16_t bus, device, function;
    uint32_t pci_device_id;
    uint64_t device_type;           /* NVSW_DEVTYPE_* */
    uint8_t uuid[NVSW_UUID_LEN];
} nvsw_link_device;

typedef struct {
    uint32_t caps;
    uint8_t phy_type, sublink_width;
    uint32_t link_state;            /* NVSW_LINK_* */
    uint32_t power_state;
    uint8_t rx_sublink, tx_sublink, lane_reversal, nvlink_version, nci_version, phy_version;
    uint32_t link_clock_khz, common_clock_khz, refclk_khz, common_clock_mhz;
    uint32_t line_rate_mbps, data_rate_kibps, link_clock_mhz, refclk_mhz;
    uint8_t refclk_type;
    uint8_t connected;
    uint8_t loop_property;
    uint8_t remote_link;            /* remote end's link number */
    uint8_t local_link;
    uint64_t remote_sid, local_sid;
    uint32_t lane_rxdet_mask;
    uint8_t repeater_mode;
    nvsw_link_device remote;
    nvsw_link_device local;
} nvsw_link_status;

typedef struct {
    uint64_t enabled_mask;
    nvsw_link_status link[NVSW_MAX_LINKS];
} nvsw_get_nvlink_status;

/* Capability: hand the driver an fd of the fabric-management capability. */
enum { NVSW_CAP_FABRIC_MANAGEMENT = 0 };
typedef struct {
    uint64_t cap_fd;
    uint32_t cap;
} nvsw_acquire_capability;

typedef struct { uint32_t state; } nvsw_set_driver_state;   /* NVSW_DRV_* */
typedef struct { uint32_t state; } nvsw_set_device_state;   /* NVSW_DEVST_* */
typedef struct { uint32_t timeout_ms; } nvsw_set_heartbeat_timeout;

/* In-band messages over NVLink (GPU fabric registration on LS10). */
#define NVSW_INBAND_DATA_SIZE 5120
typedef struct {
    uint32_t size;                  /* in */
    uint32_t link;                  /* in: port to send on */
    uint8_t buffer[NVSW_INBAND_DATA_SIZE];
    uint32_t sent;                  /* out */
} nvsw_inband_send;

typedef struct {
    uint32_t link;                  /* in */
    uint32_t size;                  /* out */
    uint8_t buffer[NVSW_INBAND_DATA_SIZE];
} nvsw_inband_read;

typedef struct { uint64_t link_mask; } nvsw_inband_flush;
typedef struct { uint64_t link_mask; } nvsw_inband_pending;

/* The request encodings: size and direction are part of the number. */
#define NVSW_IOCTL_CHECK_VERSION _IOWR(NVSW_IOC_CTL, NVSW_CTL_CHECK_VERSION, nvsw_check_version)
#define NVSW_IOCTL_GET_DEVICES_V2 _IOR(NVSW_IOC_CTL, NVSW_CTL_GET_DEVICES_V2, nvsw_get_devices_v2)

/* --- every size, against the 580.95.05 ABI (x86_64) --- */
static_assert(sizeof(nvsw_check_version) == 129, "CHECK_VERSION params");
static_assert(sizeof(nvsw_get_devices_v2) == 3588, "GET_DEVICES_V2 params");
static_assert(sizeof(nvsw_get_info) == 260, "GET_INFO params");
static_assert(sizeof(nvsw_port_config) == 32, "SET_SWITCH_PORT_CONFIG params");
static_assert(sizeof(nvsw_error) == 168, "error record");
static_assert(sizeof(nvsw_get_errors) == 10784, "GET_ERRORS params");
static_assert(sizeof(nvsw_remap_entry) == 64, "remap entry");
static_assert(sizeof(nvsw_set_remap) == 4112, "SET_REMAP_POLICY params");
static_assert(sizeof(nvsw_get_remap) == 4120, "GET_REMAP_POLICY params");
static_assert(sizeof(nvsw_set_remap_valid) == 80, "SET_REMAP_POLICY_VALID params");
static_assert(sizeof(nvsw_rid_entry) == 136, "routing ID entry");
static_assert(sizeof(nvsw_set_rid) == 8716, "SET_ROUTING_ID params");
static_assert(sizeof(nvsw_get_rid) == 8976, "GET_ROUTING_ID params");
static_assert(sizeof(nvsw_set_rid_valid) == 76, "SET_ROUTING_ID_VALID params");
static_assert(sizeof(nvsw_rlan_entry) == 136, "routing LAN entry");
static_assert(sizeof(nvsw_set_rlan) == 8716, "SET_ROUTING_LAN params");
static_assert(sizeof(nvsw_get_rlan) == 8976, "GET_ROUTING_LAN params");
static_assert(sizeof(nvsw_set_rlan_valid) == 76, "SET_ROUTING_LAN_VALID params");
static_assert(sizeof(nvsw_link_device) == 48, "NVLink device info");
static_assert(sizeof(nvsw_link_status) == 184, "NVLink link status");
static_assert(sizeof(nvsw_get_nvlink_status) == 11784, "GET_NVLINK_STATUS params");
static_assert(sizeof(nvsw_acquire_capability) == 16, "ACQUIRE_CAPABILITY params");
static_assert(sizeof(nvsw_set_driver_state) == 4, "SET_FM_DRIVER_STATE params");
static_assert(sizeof(nvsw_set_device_state) == 4, "SET_DEVICE_FABRIC_STATE params");
static_assert(sizeof(nvsw_set_heartbeat_timeout) == 4, "SET_FM_HEARTBEAT_TIMEOUT params");
static_assert(sizeof(nvsw_inband_send) == 5132, "INBAND_SEND_DATA params");
static_assert(sizeof(nvsw_inband_read) == 5128, "INBAND_READ_DATA params");
static_assert(sizeof(nvsw_inband_flush) == 8, "INBAND_FLUSH_DATA params");
static_assert(sizeof(nvsw_inband_pending) == 8, "INBAND_PENDING_DATA_STATS params");

/* ------------------------------------------------ in-band message payloads */

#define NVSW_INBAND_MAGIC 0xadbc
enum {
    NVSW_MSG_GPU_PROBE_REQ = 0,
    NVSW_MSG_GPU_PROBE_RSP = 1,
    NVSW_MSG_MC_TEAM_SETUP_REQ = 2,
    NVSW_MSG_MC_TEAM_SETUP_RSP = 3,
    NVSW_MSG_MC_TEAM_RELEASE_REQ = 4,
    NVSW_MSG_MC_TEAM_SETUP_REQ_V2 = 5,
    NVSW_MSG_GPU_PROBE_UPDATE_REQ = 6,
    NVSW_MSG_GPU_PROBE_REPLAY_REQ = 7,
    NVSW_MSG_MC_TEAM_SETUP_REPLAY_REQ = 8,
};

/* The wire form is packed (no padding anywhere). */
#pragma pack(push, 1)
typedef struct {
    uint16_t magic;                 /* NVSW_INBAND_MAGIC */
    uint64_t request_id;            /* the response echoes it */
    uint32_t status;                /* NV_STATUS: 0 is success */
    uint16_t type;                  /* NVSW_MSG_* */
    uint32_t length;                /* payload bytes after this header */
    uint8_t reserved[8];
} nvsw_msg_header;

typedef struct {
    uint64_t pci_info;              /* domain 63:32, bus 15:8, device 7:0 */
    uint8_t module_id;              /* the GPU's physical ID */
    uint8_t gpu_uuid[NVSW_UUID_LEN];
    uint64_t discovered_links;
    uint64_t enabled_links;
    uint32_t caps;
    uint8_t bw_mode;
    uint8_t rbm_requested;
    uint8_t rbm_link_count;
    uint8_t reserved[16];
    uint8_t unused[13];
} nvsw_probe_req;

typedef struct {
    uint64_t gpu_handle;
    uint32_t gfid;
    uint64_t fm_caps;
    uint8_t cluster_uuid[NVSW_UUID_LEN];
    uint16_t partition_id;
    uint64_t gpa_address;
    uint64_t gpa_range;
    uint64_t fla_address;
    uint64_t fla_range;
    uint32_t links_to_reduce;
    uint32_t clique_id;
    uint32_t health_mask;
    uint32_t gpa_egm_hi;
    uint8_t max_rbm_links;
    uint32_t remap_index;           /* the GPU's slot in the remap table */
    uint8_t reserved[11];
} nvsw_probe_rsp;
#pragma pack(pop)

static_assert(sizeof(nvsw_msg_header) == 28, "in-band header");
static_assert(sizeof(nvsw_probe_req) == 77, "GPU probe request");
static_assert(sizeof(nvsw_probe_rsp) == 102, "GPU probe response");

#endif
