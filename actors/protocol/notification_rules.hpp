#pragma once

// What to tell a customer, on which channels and in which words, as pure functions:
// - milestone_of: which order events are milestones worth a message (once per order and
//   milestone: the milestone's key goes into the delivery key);
// - rules: per kind, the channels in the order they are tried, the template and the priority;
//   built-in defaults, overridable from configuration;
// - plan_deliveries: a rule and a customer's preferences give the channels to use now;
// - render: a template per locale with variables from the order; a missing locale falls back
//   to English and a missing variable to the kind's generic text, never a broken message.

#include "actors/protocol/notification.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace mercato::notify {

/// The kinds of message, milestones and cancellations/refunds alike.
const std::vector<std::string>& kinds();

/// True for a name in kinds().
bool is_kind(std::string_view kind);

/// Locales with built-in templates.
inline constexpr std::string_view default_locale = "en";
bool is_supported_locale(std::string_view locale);

/// The part of a journaled order event that decides whether it is a milestone.
struct order_change {
  std::string type;         ///< placed, status_changed, cancelled, fact_recorded, ...
  std::string status;       ///< status_changed, cancelled: the new status
  std::string fact_type;    ///< fact_recorded: the partner's event type
  std::string fact_id;      ///< fact_recorded: the fact's external id
  std::string status_after; ///< the order's status once applied
};

/// A milestone: its kind and the key that makes it unique within the order (the kind itself,
/// or for a kind that may repeat, such as a delay warning per status, the kind and what it is
/// about).
struct milestone {
  std::string kind;
  std::string key;
};

/// The milestone `c` reaches, or an empty kind. A fact that arrives late (the order is already
/// past it) is no milestone: the customer is never told of progress older than what they know.
milestone milestone_of(const order_change& c);

/// How one kind is sent.
struct rule {
  std::string kind;
  /// Channels in the order they are tried; in_app is the inbox and never a fallback.
  std::vector<notification_channel> channels;
  /// false: the first allowed external channel, the next ones only as fallbacks; true: every
  /// allowed channel at once.
  bool all = false;
  bool urgent = false; ///< may override quiet hours
  std::string template_id;
};

using rule_table = std::map<std::string, rule, std::less<>>;

/// A rule for every kind.
rule_table default_rules();

/// Applies overrides to `table`: `KIND=CH,CH[:FLAG,FLAG];...` with flags `all`, `urgent` and
/// `template=ID`. Returns "" on success, else what is wrong (and `table` is unchanged).
std::string apply_rule_overrides(rule_table& table, std::string_view text);

/// The channels to use now for `r` and preferences `p`: in_app if allowed, plus either every
/// allowed external channel (`r.all`) or the first allowed one. The remaining allowed external
/// channels, in order, are `fallbacks`.
struct plan {
  std::vector<notification_channel> now;
  std::vector<notification_channel> fallbacks;
};
plan plan_deliveries(const rule& r, const notification_preferences& p);

/// A message template of one kind in one locale. `{{name}}` is a variable the text needs;
/// `{{?name}}...{{/name}}` is shown only when `name` has a value.
struct message_template {
  std::string id;
  std::string locale;
  int32_t version = 1;
  std::string subject;
  std::string body;
};

/// Templates by (id, locale).
using template_table = std::map<std::pair<std::string, std::string>, message_template>;

/// en and vi for every kind, plus the `generic` text each locale falls back to.
template_table default_templates();

/// A rendered message and how it was made.
struct rendered {
  std::string subject;
  std::string body;
  std::string locale;      ///< the locale used
  std::string template_id; ///< the template used (`generic` after a fallback)
  int32_t version = 0;
  std::string fallback; ///< "" or why another locale or template was used
};

/// Renders template `id` for `locale` with `vars` (order_id and milestone label are always
/// there). Unknown locale: en. Unknown template or a variable without a value: the locale's
/// generic text, which needs only order_id and the label.
rendered render(const template_table& table, const std::string& id, const std::string& locale,
                const std::map<std::string, std::string>& vars);

/// How often and how patiently one channel is tried.
struct retry_policy {
  int32_t max_attempts = 4;        ///< attempts on one channel before its fallback
  int64_t backoff_min_ms = 1000;   ///< delay before the second attempt
  int64_t backoff_max_ms = 300000; ///< cap of the doubled delay
};

/// The delay before the attempt after `attempts` failed ones: backoff_min * 2^(attempts-1),
/// capped at backoff_max, then "equal jitter": half of it fixed and half scaled by `random01`
/// (in [0, 1)), so that deliveries failed together do not come back together.
int64_t backoff_ms(const retry_policy& p, int32_t attempts, double random01);

/// What follows a failed attempt.
enum class failure_action : uint8_t {
  retry,    ///< the same channel again after a delay
  fallback, ///< this channel is spent (or refused for good): the next allowed channel
  dead,     ///< no channel is left: a dead letter
};

/// The action after the `attempts`-th failed attempt on a channel; `permanent` for a refusal
/// that no repeat can change (an invalid address); `has_fallback` when another allowed channel
/// remains.
failure_action after_failure(const retry_policy& p, int32_t attempts, bool permanent,
                             bool has_fallback);

/// The key a provider sees on every attempt of one delivery (Message-ID for email, an
/// Idempotency-Key header for HTTP providers): derived from the delivery key alone, so that a
/// repeat after a crash or an unknown outcome carries the same key and a provider can drop it.
std::string idempotency_key(std::string_view delivery_key);

/// The label of a kind in a locale (en when the locale has none).
std::string label_of(std::string_view kind, std::string_view locale);

} // namespace mercato::notify
