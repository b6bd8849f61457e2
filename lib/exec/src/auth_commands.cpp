// The requests that authenticate a connection, answered as memcached
// 1.6.18 answers them: the binary SASL opcodes under -S (PLAIN, checked
// against the pwdb table) and the ASCII login under -Y.
#include "binary_reply.hpp"
#include "memcoro/exec/execute.hpp"

namespace memcoro::exec {
namespace {

namespace bin = protocol::binary;
using protocol::CommandType;

// memcached's MAX_SASL_MECH_LEN.
constexpr std::size_t kMaxMechanism = 32;
constexpr std::string_view kMechanisms = "PLAIN";

bool is_plain(std::string_view mechanism) {
  if (mechanism.size() != kMechanisms.size()) return false;
  for (std::size_t i = 0; i < mechanism.size(); ++i) {
    const char c = mechanism[i];
    if ((c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c) != kMechanisms[i]) {
      return false;
    }
  }
  return true;  // (mechanism names are case-insensitive, as Cyrus reads them)
}

}  // namespace

bool runs_unauthenticated(std::uint8_t opcode) {
  return opcode == bin::version || opcode == bin::sasl_list_mechs || opcode == bin::sasl_auth ||
         opcode == bin::sasl_step;
}

void run_sasl(const protocol::Command& cmd, Context& ctx, Session& session, Output& out) {
  using Sasl = Session::Sasl;
  if (ctx.auth == nullptr || !ctx.auth->sasl()) {
    binary::write_error(cmd, bin::unknown, out);  // (its value was skipped)
    return;
  }
  if (cmd.type == CommandType::sasl_list_mechs) {
    session.authenticated = false;  // memcached starts its SASL connection over here
    binary::write_packet(cmd, bin::ok, {}, kMechanisms, out);
    return;
  }
  if (cmd.key.size() > kMaxMechanism) {
    binary::write_error(cmd, bin::invalid, out);
    return;
  }
  if (cmd.too_large) {  // memcached finds no item to read it into
    binary::write_error(cmd, bin::no_memory, out);
    return;
  }
  // Every attempt starts unauthenticated: one that fails leaves the
  // connection so, even after an earlier success.
  session.authenticated = false;
  const bool auth = cmd.type == CommandType::sasl_auth;
  bool ok = false;
  if (session.sasl == Sasl::done) {
    session.sasl = Sasl::fresh;  // an exchange that already ended
  } else if (auth && is_plain(cmd.key) && cmd.data.empty()) {
    // PLAIN without its message: the client sends it in a STEP.
    session.sasl = Sasl::continuing;
    binary::write_header(cmd, bin::auth_continue, 0, 0, 0, 0, out);
    return;
  } else if (auth ? is_plain(cmd.key) : session.sasl == Sasl::continuing) {
    std::string_view user;
    std::string_view password;
    ok = parse_plain(cmd.data, user, password) && ctx.auth->check(Auth::Gate::sasl, user, password);
    if (auth && !ok) session.sasl = Sasl::fresh;
  } else if (auth) {
    session.sasl = Sasl::fresh;  // a mechanism memcoro does not offer
  }
  ctx.counters.auth_cmds.add();
  if (ok) {
    session.sasl = Sasl::done;
    session.authenticated = true;
    binary::write_packet(cmd, bin::ok, {}, "Authenticated", out);
    return;
  }
  ctx.counters.auth_errors.add();
  binary::write_error(cmd, bin::auth_error, out);
}

void run_ascii_login(const protocol::Command& cmd, Context& ctx, Session& session, Output& out) {
  ctx.counters.auth_cmds.add();
  if (ctx.auth != nullptr && ctx.auth->check(Auth::Gate::ascii, cmd.key, cmd.data)) {
    session.authenticated = true;
    out.append("STORED\r\n");
    return;
  }
  ctx.counters.auth_errors.add();
  out.append("CLIENT_ERROR authentication failure\r\n");
}

bool StoreRunner::admit(const protocol::Command& cmd, Output& out) {
  if (!cmd.binary || session_.authenticated || runs_unauthenticated(cmd.bin.opcode)) return true;
  binary::write_error(cmd, bin::auth_error, out);
  return false;
}

}  // namespace memcoro::exec
