/* Sizes and version words of the SDK structures, pinned at compile time.
 * These are the numbers NVIDIA's library and clients compiled against its
 * public header use; a header edit or a compiler flag (such as packed
 * enums) that changes one of them would break binary compatibility, so it
 * must fail the build instead. */
#ifndef OPENFM_SDK_ABI_LAYOUT_H
#define OPENFM_SDK_ABI_LAYOUT_H

#include "nv_fm_types.h"

_Static_assert(sizeof(enum nvFmApiAddrTypes) == 4, "addressType must be 4 bytes");
_Static_assert(sizeof(fmConnectParams_v1) == 268, "fmConnectParams_v1 layout");
_Static_assert(sizeof(fmConnectParams_v2) == 272, "fmConnectParams_v2 layout");
_Static_assert(sizeof(fmPciDevice_t) == 16, "fmPciDevice_t layout");
_Static_assert(sizeof(fmFabricPartitionGpuInfo_t) == 128, "fmFabricPartitionGpuInfo_t layout");
_Static_assert(sizeof(fmFabricPartitionInfo_t) == 12 + 16 * 128, "fmFabricPartitionInfo_t layout");
_Static_assert(sizeof(fmFabricPartitionList_v2) == 12 + 64 * (12 + 16 * 128),
               "fmFabricPartitionList_v2 layout");
_Static_assert(sizeof(fmActivatedFabricPartitionList_v1) == 8 + 64 * 4,
               "fmActivatedFabricPartitionList_v1 layout");
_Static_assert(sizeof(fmNvlinkFailedDeviceInfo_t) == 80 + 32 + 4 + 64 * 4,
               "fmNvlinkFailedDeviceInfo_t layout");
_Static_assert(sizeof(fmNvlinkFailedDevices_v1) == 12 + (16 + 12) * (80 + 32 + 4 + 64 * 4),
               "fmNvlinkFailedDevices_v1 layout");
_Static_assert(sizeof(fmUnsupportedFabricPartitionInfo_t) == 8 + 16 * 4,
               "fmUnsupportedFabricPartitionInfo_t layout");
_Static_assert(sizeof(fmUnsupportedFabricPartitionList_v1) == 8 + 64 * (8 + 16 * 4),
               "fmUnsupportedFabricPartitionList_v1 layout");

_Static_assert(fmConnectV1Params_version1 == (268u | 1u << 24), "v1 connect version word");
_Static_assert(fmConnectV2Params_version2 == (272u | 2u << 24), "v2 connect version word");
_Static_assert(fmConnectParams_version == fmConnectV2Params_version2, "default connect version");
_Static_assert(fmFabricPartitionList_version2 == ((12u + 64u * (12u + 16u * 128u)) | 1u << 24),
               "partition list version word (layout _v2, number 1)");

#endif
