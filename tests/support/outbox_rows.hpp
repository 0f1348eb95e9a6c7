#pragma once

// The journal's published rows under the column names the `outbox` table had (and Debezium's
// outbox event router uses), for tests that check what leaves Mercato. Use it as a table:
// "SELECT count(*) FROM " + std::string{outbox_rows}.

namespace mercato::test {

inline constexpr const char* outbox_rows
  = "(SELECT id, entity_kind AS aggregatetype, entity_id AS aggregateid, event_type AS type, "
    "published AS payload, seq, request_id, recorded_at AS created_at, tx, pos FROM journal "
    "WHERE published IS NOT NULL) outbox";

} // namespace mercato::test
