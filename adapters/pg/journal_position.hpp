#pragma once

// Internal to adapters/pg: a position in the journal's commit order (migration 0009), as the
// webhook publisher and the projections follow it.

#include <compare>
#include <cstdint>
#include <string>

namespace mercato::pg {

/// `(tx, pos)` of a journal row: the writing transaction's id (xid8) and the row's number. A
/// reader that has seen every row up to a position never sees a row appear before it, provided
/// it reads only rows with `tx` below its snapshot's xmin (journal_readable_sql).
struct journal_position {
  uint64_t tx = 0;
  int64_t pos = 0;

  /// Every row of transactions below `xmin` has been seen: the position just before the first
  /// row of `xmin` (positions start at 1).
  static journal_position horizon(uint64_t xmin) {
    return {xmin, 0};
  }

  auto operator<=>(const journal_position&) const = default;

  /// SQL literals, for statements built as text.
  std::string tx_literal() const {
    return "'" + std::to_string(tx) + "'::xid8";
  }
  std::string pos_literal() const {
    return std::to_string(pos);
  }
  std::string to_string() const {
    return std::to_string(tx) + "/" + std::to_string(pos);
  }
};

/// The condition on journal rows (alias `j`) that are after `after` and safe to read: their
/// transaction and every one before it have ended. `xmin` names a column or expression holding
/// pg_snapshot_xmin(pg_current_snapshot()) of the reading statement.
inline std::string journal_readable_sql(const journal_position& after, const std::string& xmin) {
  return "(j.tx, j.pos) > (" + after.tx_literal() + ", " + after.pos_literal() + ") AND j.tx < "
         + xmin;
}

} // namespace mercato::pg
