#pragma once

// Turns the domain messages an entity persists (events, snapshots) into the JSON stored in the
// journal (payload and published form) and snapshots tables, and back. One codec per entity kind,
// looked up by the `kind` of a persist request; "stock" is built in, more kinds are added with
// register_codec.

#include <caf/expected.hpp>
#include <caf/message.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace mercato::pg {

/// What an event's journal row publishes (its `published` column; published_events.hpp).
enum class publication : uint8_t {
  none,  ///< nothing: the event is not published
  whole, ///< the stored payload itself (nothing in it is private)
  form,  ///< `encoded_event::published`, an allow-listed part of it
};

/// An event as stored: its type name (the journal's `event_type`) and a JSON object (text).
struct encoded_event {
  std::string type;
  std::string payload;
  publication publish = publication::none;
  std::string published; ///< with publication::form
};

/// The functions that persist one entity kind. Encoders fail with `invalid_request` when a
/// message does not hold that kind's type or cannot be represented (e.g. invalid UTF-8, NUL);
/// decoders fail with `caf::sec::runtime_error` on rows they cannot read.
struct entity_codec {
  std::string kind;
  caf::expected<encoded_event> (*encode_event)(const caf::message& event);
  caf::expected<caf::message> (*decode_event)(const std::string& type, const std::string& payload);
  caf::expected<std::string> (*encode_snapshot)(const caf::message& snapshot);
  caf::expected<caf::message> (*decode_snapshot)(const std::string& state);
};

/// Adds (or replaces) the codec of `codec.kind`. Call at start-up, before spawning the journal.
void register_codec(entity_codec codec);

/// The codec of `kind`, or nullptr if none is registered. Thread-safe.
const entity_codec* find_codec(const std::string& kind);

/// Kinds that have a codec, sorted.
std::vector<std::string> codec_kinds();

/// Shorthands that look up the codec and fail with `invalid_request` for an unknown kind.
caf::expected<encoded_event> encode_event(const std::string& kind, const caf::message& event);
caf::expected<caf::message> decode_event(const std::string& kind, const std::string& type,
                                         const std::string& payload);
caf::expected<std::string> encode_snapshot(const std::string& kind, const caf::message& snapshot);
caf::expected<caf::message> decode_snapshot(const std::string& kind, const std::string& state);

} // namespace mercato::pg
