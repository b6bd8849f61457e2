# Dalli (binary protocol) doing what an application does: each step prints
# "<step> <result>" so that the test can compare memcached and memcoro line
# for line. CAS values differ between servers and are printed as "cas".
# Usage: ruby dalli_flows.rb PORT [USER PASSWORD]
require "dalli"
require "logger"

port, user, password = ARGV
options = { socket_timeout: 2, socket_max_failures: 1, down_retry_delay: 60 }
options.update(username: user, password: password) if user
Dalli.logger = Logger.new(nil)  # its log goes to stdout
client = Dalli::Client.new("127.0.0.1:#{port}", options)
raw = { raw: true }

def show(value)
  case value
  when Integer then value > 1_000_000 ? "cas" : value.to_s
  when Array then "[" + value.map { |v| show(v) }.join(",") + "]"
  when Hash then "{" + value.sort.map { |k, v| "#{k}=#{show(v)}" }.join(",") + "}"
  else value.inspect
  end
end

def step(name)
  puts "#{name} #{show(yield)}"
rescue StandardError => e
  puts "#{name} raised #{e.class}"
end

step("flush") { client.flush }
step("get_missing") { client.get("rb:missing") }
step("set") { client.set("rb:a", "hello", 100, raw) }
step("get") { client.get("rb:a", raw) }
step("set_object") { client.set("rb:obj", { "k" => [1, 2] }) }
step("get_object") { client.get("rb:obj") }
step("add_existing") { client.add("rb:a", "x", 100, raw) }
step("add_new") { client.add("rb:b", "b", 100, raw) }
step("replace_missing") { client.replace("rb:none", "x", 100, raw) }
step("replace") { client.replace("rb:b", "bb", 100, raw) }
step("append") { client.append("rb:a", " world") }
step("prepend") { client.prepend("rb:a", ">") }
step("get_appended") { client.get("rb:a", raw) }
step("append_missing") { client.append("rb:none", "x") }
step("get_cas") { client.get_cas("rb:a") }
cas = (client.get_cas("rb:a") rescue [nil, 0])[1]
step("set_cas") { client.set_cas("rb:a", "v2", cas, 100, raw) }
step("set_cas_stale") { client.set_cas("rb:a", "v3", cas, 100, raw) }
step("cas_block") { client.cas("rb:a", 100, raw) { |v| v + "!" } }
step("cas_block_missing") { client.cas("rb:none", 100, raw) { |v| v } }
step("get_after_cas") { client.get("rb:a", raw) }
step("incr_missing") { client.incr("rb:n", 1) }
step("incr_create") { client.incr("rb:n", 1, 100, 10) }
step("incr") { client.incr("rb:n", 5) }
step("decr") { client.decr("rb:n", 100) }
step("incr_wrap") { client.set("rb:w", "18446744073709551615", 0, raw); client.incr("rb:w", 2) }
step("incr_non_numeric") { client.incr("rb:b", 1) }
step("get_multi") { client.get_multi("rb:a", "rb:b", "rb:n", "rb:missing") }
many = (1..150).map { |i| "rb:m#{i}" }
step("set_many") { client.multi { many.each { |k| client.set(k, k * 3, 100, raw) } }.size }
step("get_multi_many") { client.get_multi(many).size }
step("touch") { client.touch("rb:a", 1000) }
step("touch_missing") { client.touch("rb:none", 1000) }
step("gat") { client.gat("rb:b", 1000) }
step("delete") { client.delete("rb:a") }
step("delete_missing") { client.delete("rb:a") }
step("get_deleted") { client.get("rb:a") }
step("large") { v = "x" * 500_000; client.set("rb:big", v, 100, raw); client.get("rb:big", raw) == v }
step("flush_all") { client.flush }
step("get_flushed") { client.get_multi("rb:b", "rb:n") }
step("version") { client.version.values.first.to_s[0, 4] }
step("stats") { client.stats.values.first.key?("curr_items") }
