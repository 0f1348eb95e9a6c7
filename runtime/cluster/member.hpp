#pragma once

// One node process of a cluster, as the membership table (migration 0014) lists it.

#include <cstdint>
#include <string>

namespace mercato::runtime::cluster {

struct member {
  std::string node_id;
  int64_t incarnation = 0; ///< one per start of the process
  std::string http_address;
  std::string caf_host; ///< where its gateway is published
  int32_t caf_port = 0;
  std::string status; ///< joining, up, left, dead
  int32_t protocol_version = 0;
  bool leaving = false; ///< up and handing its shards over: nobody hands it any
};

} // namespace mercato::runtime::cluster
