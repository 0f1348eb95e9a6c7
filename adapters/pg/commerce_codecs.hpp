#pragma once

// JSON codecs of the coupon, cart, checkout, order, customer and payment kinds (see codec.hpp).

#include "adapters/pg/codec.hpp"

#include <vector>

namespace mercato::pg {

/// The codecs of every kind whose events are declared in actors/protocol/commerce.hpp.
std::vector<entity_codec> commerce_codecs();

} // namespace mercato::pg
