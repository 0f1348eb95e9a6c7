#include "actors/protocol/errors.hpp"

#include <caf/sec.hpp>

namespace mercato {

std::string to_string(mercato_errc x) {
  switch (x) {
  case mercato_errc::none:
    return "none";
  case mercato_errc::invalid_request:
    return "invalid_request";
  case mercato_errc::not_found:
    return "not_found";
  case mercato_errc::conflict:
    return "conflict";
  case mercato_errc::insufficient_stock:
    return "insufficient_stock";
  case mercato_errc::storage_unavailable:
    return "storage_unavailable";
  case mercato_errc::entity_unavailable:
    return "entity_unavailable";
  case mercato_errc::stale_writer:
    return "stale_writer";
  case mercato_errc::fault_injected:
    return "fault_injected";
  case mercato_errc::payment_declined:
    return "payment_declined";
  case mercato_errc::cart_expired:
    return "cart_expired";
  case mercato_errc::idempotency_mismatch:
    return "idempotency_mismatch";
  case mercato_errc::moved:
    return "moved";
  }
  return "unknown";
}

mercato_errc errc_of(const caf::error& err) {
  if (err.category() != caf::atom("mercato"))
    return mercato_errc::none;
  return static_cast<mercato_errc>(err.code());
}

std::string detail_of(const caf::error& err) {
  const auto& ctx = err.context();
  for (size_t i = 0; i < ctx.size(); ++i)
    if (ctx.match_element<std::string>(i))
      return ctx.get_as<std::string>(i);
  return {};
}

std::string render(const caf::error& err) {
  if (!err)
    return "none";
  if (err.category() == caf::atom("mercato")) {
    auto d = detail_of(err);
    auto s = "mercato::" + to_string(static_cast<mercato_errc>(err.code()));
    return d.empty() ? s : s + " (" + d + ")";
  }
  if (err.category() == caf::atom("system"))
    return "system::" + caf::to_string(static_cast<caf::sec>(err.code()));
  return caf::to_string(err);
}

} // namespace mercato
