#pragma once

// A small Prometheus registry: families registered once, then updated lock-free on hot paths.

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace mercato::runtime {

/// A monotonically increasing value.
class counter {
public:
  void inc(uint64_t n = 1) noexcept {
    value_.fetch_add(n, std::memory_order_relaxed);
  }
  uint64_t value() const noexcept {
    return value_.load(std::memory_order_relaxed);
  }

private:
  std::atomic<uint64_t> value_{0};
};

/// A value that goes up and down.
class gauge {
public:
  void set(int64_t v) noexcept {
    value_.store(v, std::memory_order_relaxed);
  }
  void add(int64_t d) noexcept {
    value_.fetch_add(d, std::memory_order_relaxed);
  }
  int64_t value() const noexcept {
    return value_.load(std::memory_order_relaxed);
  }

private:
  std::atomic<int64_t> value_{0};
};

/// Cumulative buckets over fixed upper bounds (seconds or units, as the family says).
class histogram {
public:
  explicit histogram(std::vector<double> bounds);
  void observe(double v) noexcept;
  const std::vector<double>& bounds() const noexcept {
    return bounds_;
  }
  /// Non-cumulative count of bucket i (i == bounds().size() is +Inf).
  uint64_t bucket(size_t i) const noexcept {
    return counts_[i].load(std::memory_order_relaxed);
  }
  uint64_t count() const noexcept {
    return count_.load(std::memory_order_relaxed);
  }
  double sum() const noexcept;

private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_micros_{0}; // sum * 1e6, so that it stays an atomic integer
};

/// Label pairs in a fixed order, e.g. {{"route", "/v1/stock/{sku}"}, {"code", "200"}}.
using labels = std::vector<std::pair<std::string, std::string>>;

/// Owns every metric of the process; `render()` writes the Prometheus text format.
class metrics_registry {
public:
  /// Returns the counter of family `name` with `lbls`, creating it on first use. The returned
  /// reference stays valid for the registry's lifetime: cache it outside hot loops.
  counter& get_counter(const std::string& name, const std::string& help, const labels& lbls = {});
  gauge& get_gauge(const std::string& name, const std::string& help, const labels& lbls = {});
  histogram& get_histogram(const std::string& name, const std::string& help,
                           const std::vector<double>& bounds, const labels& lbls = {});

  /// Prometheus text exposition format 0.0.4.
  std::string render() const;

  /// Default latency buckets in seconds (100 µs .. 10 s).
  static std::vector<double> latency_buckets();

private:
  enum class kind { counter, gauge, histogram };
  struct family {
    kind type;
    std::string help;
    std::map<std::string, counter*> counters; // key: rendered label set
    std::map<std::string, gauge*> gauges;
    std::map<std::string, histogram*> histograms;
  };
  family& family_of(const std::string& name, kind type, const std::string& help);

  mutable std::mutex mtx_;
  std::map<std::string, family> families_;
  std::deque<counter> counter_store_;
  std::deque<gauge> gauge_store_;
  std::deque<histogram> histogram_store_;
};

} // namespace mercato::runtime
