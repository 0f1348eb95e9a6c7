#include "adapters/payments/payment_rules.hpp"

namespace mercato::payments {

namespace {

using ps = payment_status;

caf::expected<payment_step> stay(ps s) {
  return payment_step{s, false};
}

caf::expected<payment_step> go(ps s) {
  return payment_step{s, true};
}

caf::error conflict(ps from, payment_event ev) {
  return caf::make_error(mercato_errc::conflict, "cannot " + std::string{to_string(ev)}
                                                   + " a payment that is " + to_string(from));
}

} // namespace

std::string_view to_string(payment_event x) noexcept {
  switch (x) {
  case payment_event::authorize:
    return "authorize";
  case payment_event::provider_authorized:
    return "provider_authorized";
  case payment_event::provider_declined:
    return "provider_declined";
  case payment_event::capture:
    return "capture";
  case payment_event::cancel:
    return "cancel";
  case payment_event::refund:
    return "refund";
  case payment_event::provider_captured:
    return "provider_captured";
  case payment_event::provider_voided:
    return "provider_voided";
  case payment_event::provider_refunded:
    return "provider_refunded";
  }
  return "unknown";
}

bool is_failed(payment_status s) noexcept {
  return s == ps::declined || s == ps::voided;
}

caf::expected<payment_step> next_status(std::optional<payment_status> current, payment_event ev) {
  if (!current) {
    switch (ev) {
    case payment_event::authorize:
      return go(ps::pending);
    case payment_event::cancel:
      return go(ps::voided);
    default:
      return caf::make_error(mercato_errc::not_found, "no such payment");
    }
  }
  auto from = *current;
  switch (ev) {
  case payment_event::authorize:
    return stay(from);
  case payment_event::provider_authorized:
    return from == ps::pending ? go(ps::authorized) : stay(from);
  case payment_event::provider_declined:
    return from == ps::pending ? go(ps::declined) : stay(from);
  case payment_event::capture:
    if (from == ps::authorized)
      return go(ps::captured);
    if (from == ps::captured)
      return stay(from);
    return conflict(from, ev);
  case payment_event::cancel:
    if (from == ps::pending || from == ps::authorized)
      return go(ps::voided);
    if (from == ps::voided || from == ps::declined)
      return stay(from);
    return conflict(from, ev);
  case payment_event::refund:
    if (from == ps::captured)
      return go(ps::refunded);
    if (from == ps::refunded)
      return stay(from);
    return conflict(from, ev);
  case payment_event::provider_captured:
    return from == ps::authorized ? go(ps::captured) : stay(from);
  case payment_event::provider_voided:
    return from == ps::pending || from == ps::authorized ? go(ps::voided) : stay(from);
  case payment_event::provider_refunded:
    return from == ps::captured ? go(ps::refunded) : stay(from);
  }
  return conflict(from, ev);
}

} // namespace mercato::payments
