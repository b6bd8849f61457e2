// The binary protocol's requests, answered as memcached 1.6.18 answers them
// (proto_bin.c): the same items, write rules (changes.hpp) and counters as
// text and meta; only the replies differ. Quiet opcodes arrive with
// noreply: their successes (a get's misses) go unanswered, their errors
// do not.
#include <cstring>

#include "binary_reply.hpp"
#include "memcoro/exec/changes.hpp"
#include "memcoro/exec/execute.hpp"

namespace memcoro::exec {

void run_binary_stats(const protocol::Command& cmd, Context& ctx, Output& out);

namespace binary {
namespace {

void put_be(std::uint64_t v, int bytes, Output& out) {
  for (int i = bytes - 1; i >= 0; --i) out.append(static_cast<char>((v >> (8 * i)) & 0xff));
}

}  // namespace

void write_header(const protocol::Command& cmd, std::uint16_t status, std::size_t extlen,
                  std::size_t keylen, std::size_t valuelen, std::uint64_t cas, Output& out) {
  out.append(static_cast<char>(protocol::binary::kResponseMagic));
  out.append(static_cast<char>(cmd.bin.opcode));
  put_be(keylen, 2, out);
  put_be(extlen, 1, out);
  out.append('\0');  // datatype
  put_be(status, 2, out);
  put_be(extlen + keylen + valuelen, 4, out);
  put_be(cmd.bin.opaque, 4, out);
  put_be(cas, 8, out);
}

void write_packet(const protocol::Command& cmd, std::uint16_t status, std::string_view key,
                  std::string_view value, Output& out) {
  write_header(cmd, status, 0, key.size(), value.size(), 0, out);
  out.append(key);
  out.append(value);
}

void write_error(const protocol::Command& cmd, std::uint16_t status, Output& out) {
  write_packet(cmd, status, {}, protocol::binary::status_text(status), out);
}

}  // namespace binary

namespace {

using protocol::Command;
using protocol::CommandType;
using store::StoreStatus;
namespace bin = protocol::binary;

// A success without a body (the CAS of what it made, or 0), unless quiet.
void answer_ok(const Command& cmd, std::uint64_t cas, Output& out) {
  if (!cmd.noreply) binary::write_header(cmd, bin::ok, 0, 0, 0, cas, out);
}

// GET, GETK, GAT, GATK, TOUCH and their quiet variants.
void get_or_touch(const Command& cmd, Context& ctx, Output& out) {
  const bool touch = cmd.type != CommandType::get;
  store::GetResult r =
      touch ? ctx.store.get_and_touch(cmd.key, cmd.exptime) : ctx.store.get(cmd.key);
  count_get(cmd.key, r, touch, ctx);
  if (!r.item) {
    if (cmd.noreply) return;  // a quiet get's miss
    if (cmd.bin.with_key) {   // the key alone, no "Not found"
      binary::write_header(cmd, bin::not_found, 0, cmd.key.size(), 0, 0, out);
      out.append(cmd.key);
    } else {
      binary::write_error(cmd, bin::not_found, out);
    }
    return;
  }
  const store::Item& it = *r.item.get();
  const bool value = cmd.type != CommandType::touch;
  const std::string_view key = cmd.bin.with_key ? it.key() : std::string_view{};
  binary::write_header(cmd, bin::ok, 4, key.size(), value ? it.value_len : 0, it.cas_value(), out);
  char flags[4];
  for (int i = 0; i < 4; ++i) flags[i] = static_cast<char>(it.flags >> (24 - 8 * i));
  out.append(std::string_view(flags, 4));
  out.append(key);
  if (value) out.append_bare_value(std::move(r.item));
}

void store_value(const Command& cmd, Context& ctx, Output& out) {
  if (cmd.too_large) {
    if (drops_on_failure(cmd)) ctx.store.remove(cmd.key);
    answer_binary_store(cmd, Written{StoreStatus::too_large}, ctx, out);
    return;
  }
  const std::optional<store::ItemInfo> before = peek_watched(cmd.key, ctx);
  const Written w = write_value(ctx.store, mode_of(cmd.type), cmd.key, cmd.flags, cmd.exptime,
                                cmd.data, store_flags(cmd), drops_on_failure(cmd));
  if (watched(ctx, log::Stream(log::kFetchers | log::kMutations))) log_store(cmd, w, before, ctx);
  answer_binary_store(cmd, w, ctx, out);
}

void remove(const Command& cmd, Context& ctx, Output& out) {
  if (ctx.prefixes != nullptr && ctx.prefixes->enabled()) ctx.prefixes->record_delete(cmd.key);
  const std::optional<store::ItemInfo> before = peek_watched(cmd.key, ctx);
  Deleted d;
  if (cmd.bin.cas == 0) {
    const store::Outcome o = ctx.store.remove(cmd.key);
    d = {o.status == store::LookupStatus::hit ? Deleted::Status::deleted
                                              : Deleted::Status::not_found,
         o.cls};
  } else {
    d = delete_item(ctx.store, cmd.key, store_flags(cmd));
  }
  log_removal(cmd.key, d.status != Deleted::Status::not_found, d.cls, before, ctx);
  switch (d.status) {
    case Deleted::Status::deleted:
      ctx.counters.delete_hits.add();
      ctx.counters.cls(d.cls).delete_hits.add();
      answer_ok(cmd, 0, out);
      break;
    case Deleted::Status::not_found:
      ctx.counters.delete_misses.add();
      binary::write_error(cmd, bin::not_found, out);
      break;
    case Deleted::Status::exists: binary::write_error(cmd, bin::exists, out); break;
  }
}

// INCR, DECR: the delta applied, or the initial value made on a miss
// (unless the expiration is 0xffffffff).
void arithmetic(const Command& cmd, Context& ctx, Output& out) {
  using Status = Counted::Status;
  const bool incr = cmd.type == CommandType::incr;
  protocol::MetaFlags m = store_flags(cmd);
  m.has_vivify = cmd.bin.vivify;
  m.initial = cmd.bin.initial;
  m.vivify_ttl = static_cast<std::int32_t>(cmd.exptime);
  const std::optional<store::ItemInfo> before = peek_watched(cmd.key, ctx);
  const Counted r = change_number(ctx.store, cmd.key, incr, cmd.delta, m);
  log_arithmetic(cmd.key, r, before, ctx);
  switch (r.status) {
    case Status::ok:
      if (!r.created) {
        (incr ? ctx.counters.incr_hits : ctx.counters.decr_hits).add();
        (incr ? ctx.counters.cls(r.cls).incr_hits : ctx.counters.cls(r.cls).decr_hits).add();
      }
      if (!cmd.noreply) {
        binary::write_header(cmd, bin::ok, 0, 0, 8, r.cas, out);
        binary::put_be(r.value, 8, out);
      }
      break;
    case Status::not_found:
      (incr ? ctx.counters.incr_misses : ctx.counters.decr_misses).add();
      binary::write_error(cmd, bin::not_found, out);
      break;
    case Status::exists: binary::write_error(cmd, bin::exists, out); break;
    case Status::non_numeric: binary::write_error(cmd, bin::non_numeric, out); break;
    case Status::no_memory: binary::write_error(cmd, bin::no_memory, out); break;
  }
}

}  // namespace

void answer_binary_store(const Command& cmd, const Written& w, Context& ctx, Output& out) {
  count_store(cmd, w.status, w.cls, ctx);
  switch (w.status) {
    case StoreStatus::stored: answer_ok(cmd, w.cas, out); break;
    case StoreStatus::not_stored: {
      // memcached's complete_update_bin: what NOT_STORED means per opcode.
      const CommandType t = cmd.type;
      const std::uint16_t status = t == CommandType::add       ? bin::exists
                                   : t == CommandType::replace ? bin::not_found
                                                               : bin::not_stored;
      binary::write_error(cmd, status, out);
      break;
    }
    case StoreStatus::exists: binary::write_error(cmd, bin::exists, out); break;
    case StoreStatus::not_found: binary::write_error(cmd, bin::not_found, out); break;
    case StoreStatus::too_large: binary::write_error(cmd, bin::too_large, out); break;
    case StoreStatus::no_memory: binary::write_error(cmd, bin::no_memory, out); break;
  }
}

After run_binary(const Command& cmd, Context& ctx, Session& session, Output& out) {
  // memcached's order: lengths that cannot be (Unknown command, close),
  // then authentication, then the key's length and the opcode's shape.
  const bool impossible_lengths = cmd.bin.error == bin::unknown && cmd.bin.close_after;
  if (!impossible_lengths && !session.authenticated && !runs_unauthenticated(cmd.bin.opcode)) {
    binary::write_error(cmd, bin::auth_error, out);
    return After::close;
  }
  if (cmd.bin.error != 0) {
    binary::write_error(cmd, cmd.bin.error, out);
    return cmd.bin.close_after ? After::close : After::keep_open;
  }
  switch (cmd.type) {
    case CommandType::get:
    case CommandType::gat:
    case CommandType::touch: get_or_touch(cmd, ctx, out); break;
    case CommandType::set:
    case CommandType::add:
    case CommandType::replace:
    case CommandType::cas:
    case CommandType::append:
    case CommandType::prepend: store_value(cmd, ctx, out); break;
    case CommandType::del: remove(cmd, ctx, out); break;
    case CommandType::incr:
    case CommandType::decr: arithmetic(cmd, ctx, out); break;
    case CommandType::quit: answer_ok(cmd, 0, out); return After::close;
    case CommandType::flush_all:
      ctx.counters.cmd_flush.add();
      ctx.store.flush_all(cmd.has_delay ? cmd.delay : 0);
      answer_ok(cmd, 0, out);
      break;
    case CommandType::meta_noop: answer_ok(cmd, 0, out); break;
    case CommandType::version: {
      const std::string_view v = ctx.control != nullptr ? ctx.control->version() : "memcoro";
      binary::write_packet(cmd, bin::ok, {}, v, out);
      break;
    }
    case CommandType::stats: run_binary_stats(cmd, ctx, out); break;
    case CommandType::sasl_list_mechs:
    case CommandType::sasl_auth:
    case CommandType::sasl_step: run_sasl(cmd, ctx, session, out); break;
    default: binary::write_error(cmd, bin::unknown, out); break;  // (the parser maps no other)
  }
  return After::keep_open;
}

}  // namespace memcoro::exec
