#include "runtime/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace mercato::runtime {

histogram::histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  std::sort(bounds_.begin(), bounds_.end());
  for (size_t i = 0; i <= bounds_.size(); ++i)
    counts_[i].store(0, std::memory_order_relaxed);
}

void histogram::observe(double v) noexcept {
  auto i
    = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  if (v > 0)
    sum_micros_.fetch_add(static_cast<uint64_t>(std::llround(v * 1e6)), std::memory_order_relaxed);
}

double histogram::sum() const noexcept {
  return static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6;
}

namespace {

std::string escape_label(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\' || c == '"')
      out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string render_labels(const labels& lbls, const std::string& extra = {}) {
  if (lbls.empty() && extra.empty())
    return {};
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : lbls) {
    if (!first)
      out += ',';
    first = false;
    out += k + "=\"" + escape_label(v) + '"';
  }
  if (!extra.empty()) {
    if (!first)
      out += ',';
    out += extra;
  }
  out += '}';
  return out;
}

std::string format_double(double v) {
  if (std::isinf(v))
    return v > 0 ? "+Inf" : "-Inf";
  std::ostringstream os;
  os << v;
  return os.str();
}

// Splits a rendered label set "{a="b"}" back into its inner part, for appending `le`.
std::string inner(const std::string& rendered) {
  return rendered.empty() ? std::string{} : rendered.substr(1, rendered.size() - 2);
}

} // namespace

metrics_registry::family& metrics_registry::family_of(const std::string& name, kind type,
                                                      const std::string& help) {
  auto [i, added] = families_.try_emplace(name);
  if (added) {
    i->second.type = type;
    i->second.help = help;
  }
  return i->second;
}

counter& metrics_registry::get_counter(const std::string& name, const std::string& help,
                                       const labels& lbls) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& fam = family_of(name, kind::counter, help);
  auto& slot = fam.counters[render_labels(lbls)];
  if (slot == nullptr)
    slot = &counter_store_.emplace_back();
  return *slot;
}

gauge& metrics_registry::get_gauge(const std::string& name, const std::string& help,
                                   const labels& lbls) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& fam = family_of(name, kind::gauge, help);
  auto& slot = fam.gauges[render_labels(lbls)];
  if (slot == nullptr)
    slot = &gauge_store_.emplace_back();
  return *slot;
}

histogram& metrics_registry::get_histogram(const std::string& name, const std::string& help,
                                           const std::vector<double>& bounds, const labels& lbls) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& fam = family_of(name, kind::histogram, help);
  auto& slot = fam.histograms[render_labels(lbls)];
  if (slot == nullptr)
    slot = &histogram_store_.emplace_back(bounds);
  return *slot;
}

std::string metrics_registry::render() const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::string out;
  out.reserve(4096);
  for (const auto& [name, fam] : families_) {
    out += "# HELP " + name + ' ' + fam.help + '\n';
    switch (fam.type) {
    case kind::counter:
      out += "# TYPE " + name + " counter\n";
      for (const auto& [lbl, c] : fam.counters)
        out += name + lbl + ' ' + std::to_string(c->value()) + '\n';
      break;
    case kind::gauge:
      out += "# TYPE " + name + " gauge\n";
      for (const auto& [lbl, g] : fam.gauges)
        out += name + lbl + ' ' + std::to_string(g->value()) + '\n';
      break;
    case kind::histogram:
      out += "# TYPE " + name + " histogram\n";
      for (const auto& [lbl, h] : fam.histograms) {
        uint64_t cumulative = 0;
        auto base = inner(lbl);
        for (size_t i = 0; i <= h->bounds().size(); ++i) {
          cumulative += h->bucket(i);
          auto le = i < h->bounds().size() ? format_double(h->bounds()[i]) : "+Inf";
          out += name + "_bucket{" + base + (base.empty() ? "" : ",") + "le=\"" + le + "\"} "
                 + std::to_string(cumulative) + '\n';
        }
        out += name + "_sum" + lbl + ' ' + format_double(h->sum()) + '\n';
        out += name + "_count" + lbl + ' ' + std::to_string(h->count()) + '\n';
      }
      break;
    }
  }
  return out;
}

std::vector<double> metrics_registry::latency_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
}

} // namespace mercato::runtime
