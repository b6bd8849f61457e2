// The three sinks on the same stats: memcached's text, the admin port's
// JSON shapes, memcached_exporter's families. Each stat is emitted once;
// only the sink decides the format.
#include <catch2/catch.hpp>
#include <string>

#include "memcoro/stats/json_sink.hpp"
#include "memcoro/stats/prometheus_sink.hpp"
#include "memcoro/stats/report.hpp"
#include "memcoro/stats/sink.hpp"

namespace {

using memcoro::stats::Group;
using memcoro::stats::JsonSink;
using memcoro::stats::Label;
using memcoro::stats::PrometheusSink;
using memcoro::stats::Sink;
using memcoro::stats::TextSink;

// A little of each report: general, `stats slabs`, `stats items`.
void emit(Sink& sink) {
  sink.add("version", "1.6.18-memcoro");
  sink.add("pid", std::int64_t{42});
  sink.add("rusage_user", 1.25);
  sink.add("curr_items", std::uint64_t{3});
  sink.add("chunk_size", std::uint64_t{96}, Label{Group::slab_class, 1});
  sink.add("cmd_set", std::uint64_t{5}, Label{Group::slab_class, 1});
  sink.add("total_malloced", std::uint64_t{1048576});
  sink.add("number", std::uint64_t{3}, Label{Group::item_class, 1});
}

}  // namespace

TEST_CASE("the text sink writes memcached's STAT lines, labels in the name") {
  std::string out;
  TextSink text(out);
  emit(text);
  text.add("addr", "tcp:127.0.0.1:11211", Label{Group::connection, 7});
  CHECK(out ==
        "STAT version 1.6.18-memcoro\r\n"
        "STAT pid 42\r\n"
        "STAT rusage_user 1.250000\r\n"
        "STAT curr_items 3\r\n"
        "STAT 1:chunk_size 96\r\n"
        "STAT 1:cmd_set 5\r\n"
        "STAT total_malloced 1048576\r\n"
        "STAT items:1:number 3\r\n"
        "STAT 7:addr tcp:127.0.0.1:11211\r\n");
}

TEST_CASE("the JSON sink: numbers as numbers, classes grouped, always present") {
  JsonSink flat(JsonSink::Shape::flat);
  flat.add("growth_factor", "1.25");  // settings are text where they come from
  flat.add("evictions", "on");
  flat.add("rusage_system", 0.1234567);  // to the microsecond, as the text
  CHECK(flat.dump() ==
        "{\n  \"growth_factor\": 1.25,\n  \"evictions\": \"on\",\n"
        "  \"rusage_system\": 0.123457\n}");

  JsonSink slabs(JsonSink::Shape::classes);
  slabs.add("chunk_size", std::uint64_t{96}, Label{Group::slab_class, 1});
  slabs.add("total_malloced", std::uint64_t{0});
  CHECK(slabs.dump() ==
        "{\n  \"classes\": {\n    \"1\": {\n      \"chunk_size\": 96\n    }\n"
        "  },\n  \"total_malloced\": 0\n}");
  JsonSink none(JsonSink::Shape::classes);
  none.add("active_slabs", std::uint64_t{0});
  CHECK(none.dump() == "{\n  \"active_slabs\": 0,\n  \"classes\": {}\n}");
}

TEST_CASE("the JSON sink lists connections; clients are those with a listen_addr") {
  JsonSink conns(JsonSink::Shape::connections);
  conns.add("addr", "tcp:0.0.0.0:11211", Label{Group::connection, 5});
  conns.add("state", "conn_listening", Label{Group::connection, 5});
  conns.add("addr", "tcp:127.0.0.1:4000", Label{Group::connection, 9});
  conns.add("listen_addr", "tcp:127.0.0.1:11211", Label{Group::connection, 9});
  CHECK(conns.dump() ==
        "{\n  \"curr_connections\": 1,\n  \"connections\": [\n    {\n      \"fd\": 5,\n"
        "      \"addr\": \"tcp:0.0.0.0:11211\",\n      \"state\": \"conn_listening\"\n    },\n"
        "    {\n      \"fd\": 9,\n      \"addr\": \"tcp:127.0.0.1:4000\",\n"
        "      \"listen_addr\": \"tcp:127.0.0.1:11211\"\n    }\n  ]\n}");
}

TEST_CASE("the Prometheus sink renders memcached_exporter's families") {
  PrometheusSink metrics;
  emit(metrics);
  const std::string text = metrics.text();
  CHECK(text.find("memcached_version{version=\"1.6.18-memcoro\"} 1\n") != std::string::npos);
  CHECK(text.find("\nmemcached_process_user_cpu_seconds_total 1.25\n") != std::string::npos);
  CHECK(text.find("\nmemcached_current_items 3\n") != std::string::npos);
  CHECK(text.find("\nmemcached_malloced_bytes 1048576\n") != std::string::npos);
  CHECK(text.find("\nmemcached_slab_chunk_size_bytes{slab=\"1\"} 96\n") != std::string::npos);
  CHECK(text.find("\nmemcached_slab_current_items{slab=\"1\"} 3\n") != std::string::npos);
  CHECK(text.find("memcached_slab_commands_total{slab=\"1\",command=\"set\",status=\"hit\"} 5\n") !=
        std::string::npos);
  // A stat the report did not send counts as 0.
  CHECK(text.find("\nmemcached_slabs_moved_total 0\n") != std::string::npos);
}

TEST_CASE("the general report emits memcached's fields in its order, shown-when rules kept") {
  memcoro::stats::GeneralInputs in;
  in.store.curr_items = 2;
  in.counters.cmd_get = 7;
  std::string out;
  TextSink text(out);
  memcoro::stats::general_stats(in, text);
  CHECK(out.starts_with("STAT pid 0\r\nSTAT uptime 0\r\n"));
  CHECK(out.find("STAT cmd_get 7\r\n") != std::string::npos);
  CHECK(out.find("STAT curr_items 2\r\n") != std::string::npos);
  CHECK(out.find("STAT lru_crawler_running 0\r\n") != std::string::npos);
  CHECK(out.find("idle_kicks") == std::string::npos);  // only with an idle timeout
}
