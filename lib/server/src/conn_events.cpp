// memcached's connevents lines: one when a connection opens, one when it
// closes (with why), from what `stats conns` already knows of it.
#include "server_impl.hpp"

namespace memcoro::server {

void Server::Impl::log_conn_new(const ConnInfo& c) {
  if (logger.wants(log::kConnEvents)) logger.conn_new(log::parse_peer(c.addr), c.fd);
}

void Server::Impl::log_conn_close(const ConnInfo& c, log::CloseReason why) {
  if (logger.wants(log::kConnEvents)) logger.conn_close(log::parse_peer(c.addr), why, c.fd);
}

}  // namespace memcoro::server
