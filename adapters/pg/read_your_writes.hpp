#pragma once

// Internal to adapters/pg: reads of a projection's tables that must show what their caller was
// already answered for wait (bounded) until the projection has applied every event committed
// before the read arrived.

#include "adapters/pg/projections.hpp"
#include "runtime/logging.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <utility>

namespace mercato::pg {

/// Runs `read()` once `projection` has caught up with the journal as it was when the request
/// arrived, or once `wait` has passed (then the rows are served as they are), or at once when
/// there is no projection to wait for. `what` names the read in debug logs.
template <class Self, class Read>
void after_projection(Self* self, const projection_actor& projection,
                      std::chrono::milliseconds wait, const char* what, Read read) {
  if (!projection || wait.count() <= 0)
    return read();
  self
    ->request(projection, wait + std::chrono::milliseconds{500}, atom::check_v,
              static_cast<int64_t>(wait.count()))
    .then(
      [what, read](bool reached) mutable {
        if (!reached)
          runtime::logger("pg")->debug("{} served before the projection caught up", what);
        read();
      },
      [what, read](caf::error& err) mutable {
        runtime::logger("pg")->debug("{} served without waiting: {}", what, caf::to_string(err));
        read();
      });
}

} // namespace mercato::pg
