#include "api/ws/admin_feed.hpp"

#include "actors/protocol/interfaces.hpp"
#include "api/routes/cluster_view.hpp"
#include "api/ws/frames.hpp"
#include "runtime/topic_hub.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <chrono>
#include <memory>
#include <utility>
#include <vector>

namespace mercato::api::ws {

namespace {

using namespace std::chrono_literals;

// How soon a change reaches the dashboard; a refresh costs one count per region (or one
// gateway round trip), and runs only while someone follows the topic.
constexpr auto refresh_interval = 1s;
constexpr auto describe_timeout = 5s;

using answer = caf::typed_response_promise<uint64_t, std::string>;

struct feed_state {
  uint64_t seq = 0;
  std::string data;
  bool asking = false;
  std::vector<answer> waiting; ///< snapshots asked for while a description is on its way
};

} // namespace

caf::actor spawn_admin_feed(const runtime::node_handles& handles) {
  return handles.sys->spawn([h = handles](caf::event_based_actor* self) -> caf::behavior {
    auto st = std::make_shared<feed_state>();
    const std::string topic{admin_cluster_topic};
    auto refresh = [self, h, st, topic] {
      if (std::exchange(st->asking, true))
        return; // the answer on its way serves this ask too
      describe_cluster(self, h, describe_timeout, [h, st, topic](caf::expected<std::string> body) {
        st->asking = false;
        auto waiting = std::exchange(st->waiting, {});
        if (!body) {
          for (auto& rp : waiting)
            rp.deliver(body.error());
          return;
        }
        if (st->seq == 0 || *body != st->data) {
          st->data = std::move(*body);
          ++st->seq;
          if (h.hub)
            h.hub->publish_frame(std::make_shared<const runtime::topic_frame>(
              runtime::topic_frame{topic, st->seq, event_frame(topic, st->seq, st->data)}));
        }
        for (auto& rp : waiting)
          rp.deliver(st->seq, st->data);
      });
    };
    self->send(self, atom::check_v);
    return {
      [self, h, refresh, topic](atom::check) {
        if (h.hub && h.hub->subscribers(topic) > 0)
          refresh();
        self->delayed_send(self, refresh_interval, atom::check_v);
      },
      [self, st, refresh](atom::get) -> caf::result<uint64_t, std::string> {
        auto rp = self->make_response_promise<uint64_t, std::string>();
        st->waiting.push_back(rp);
        refresh();
        return rp;
      },
    };
  });
}

} // namespace mercato::api::ws
