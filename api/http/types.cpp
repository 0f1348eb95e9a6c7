#include "api/http/types.hpp"

namespace mercato::api {

std::string_view to_string(http_method m) noexcept {
  switch (m) {
  case http_method::get:
    return "GET";
  case http_method::head:
    return "HEAD";
  case http_method::post:
    return "POST";
  case http_method::put:
    return "PUT";
  case http_method::delete_:
    return "DELETE";
  case http_method::patch:
    return "PATCH";
  case http_method::options:
    return "OPTIONS";
  case http_method::other:
    break;
  }
  return "OTHER";
}

http_method parse_method(std::string_view name) noexcept {
  if (name == "GET")
    return http_method::get;
  if (name == "POST")
    return http_method::post;
  if (name == "PUT")
    return http_method::put;
  if (name == "DELETE")
    return http_method::delete_;
  if (name == "HEAD")
    return http_method::head;
  if (name == "PATCH")
    return http_method::patch;
  if (name == "OPTIONS")
    return http_method::options;
  return http_method::other;
}

std::string_view path_params::get(std::string_view name) const noexcept {
  for (size_t i = 0; i < size_; ++i)
    if (items_[i].first == name)
      return items_[i].second;
  return {};
}

bool path_params::push(std::string_view name, std::string value) {
  if (size_ == max_params)
    return false;
  items_[size_].first = name;
  items_[size_].second = std::move(value);
  ++size_;
  return true;
}

void path_params::clear() noexcept {
  size_ = 0;
}

response json_response(uint16_t status, std::string body) {
  response res;
  res.status = status;
  res.body = std::move(body);
  return res;
}

response problem_response(uint16_t status, std::string code, std::string detail,
                          std::vector<field_error> errors) {
  response res;
  res.status = status;
  res.is_problem = true;
  res.content_type = "application/problem+json";
  res.prob.code = std::move(code);
  res.prob.detail = std::move(detail);
  res.prob.errors = std::move(errors);
  return res;
}

void responder::operator()(response&& res) const {
  if (auto sink = sink_.lock())
    sink->post_response(seq_, std::move(res));
}

} // namespace mercato::api
