// A QuickFIX C++ acceptor with a minimal price-time matcher: the reference that
// loadtest/fix_bench.py runs beside the gateway and the null acceptor.
//
// Usage: ordermatch SETTINGS_FILE
// Prints "ready" on stdout once the acceptor listens; stops on SIGTERM/SIGINT.
//
// It does what a small real venue must do per order, and no more: the session layer
// (QuickFIX: validation against the data dictionary, sequence numbers, a file message
// store), an acknowledgement (ExecutionReport 150=0), price-time matching on one book
// per symbol, and an ExecutionReport 150=F to each side of every fill. Prices and
// quantities are fixed-point integers parsed from the wire strings.
#include <quickfix/Application.h>
#include <quickfix/FileStore.h>
#include <quickfix/Message.h>
#include <quickfix/Session.h>
#include <quickfix/SessionSettings.h>
#include <quickfix/SocketAcceptor.h>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <iostream>
#include <map>
#include <string>
#include <unistd.h>

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

// A decimal string as an integer number of 10^-8 units; -1 when it is not one.
int64_t parse_units(const std::string& text) {
  int64_t whole = 0, frac = 0;
  int frac_digits = 0;
  bool dot = false;
  if (text.empty()) return -1;
  for (char c : text) {
    if (c == '.' && !dot) { dot = true; continue; }
    if (c < '0' || c > '9') return -1;
    if (dot) {
      if (++frac_digits > 8) return -1;
      frac = frac * 10 + (c - '0');
    } else {
      whole = whole * 10 + (c - '0');
      if (whole > 90000000000LL) return -1;
    }
  }
  for (; frac_digits < 8; ++frac_digits) frac *= 10;
  return whole * 100000000LL + frac;
}

std::string format_units(int64_t units) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%lld.%08lld", static_cast<long long>(units / 100000000LL),
                static_cast<long long>(units % 100000000LL));
  return buf;
}

struct Order {
  FIX::SessionID session;
  std::string clordid, symbol, order_id;
  char side;
  int64_t price, qty, leaves, cum = 0;
};

struct Book {
  std::map<int64_t, std::deque<Order>, std::greater<int64_t>> bids;
  std::map<int64_t, std::deque<Order>> asks;
};

class OrderMatch : public FIX::Application {
 public:
  void onCreate(const FIX::SessionID&) override {}
  void onLogon(const FIX::SessionID&) override {}
  void onLogout(const FIX::SessionID&) override {}
  void toAdmin(FIX::Message&, const FIX::SessionID&) override {}
  void toApp(FIX::Message&, const FIX::SessionID&) throw(FIX::DoNotSend) override {}
  void fromAdmin(const FIX::Message&, const FIX::SessionID&)
      throw(FIX::FieldNotFound, FIX::IncorrectDataFormat, FIX::IncorrectTagValue,
             FIX::RejectLogon) override {}

  void fromApp(const FIX::Message& message, const FIX::SessionID& session)
      throw(FIX::FieldNotFound, FIX::IncorrectDataFormat, FIX::IncorrectTagValue,
             FIX::UnsupportedMessageType) override {
    const std::string& type = message.getHeader().getField(FIX::FIELD::MsgType);
    if (type != "D") throw FIX::UnsupportedMessageType();
    Order order;
    order.session = session;
    order.clordid = message.getField(FIX::FIELD::ClOrdID);
    order.symbol = message.getField(FIX::FIELD::Symbol);
    order.side = message.getField(FIX::FIELD::Side)[0];
    order.price = parse_units(message.getField(FIX::FIELD::Price));
    order.qty = parse_units(message.getField(FIX::FIELD::OrderQty));
    if (order.price <= 0) throw FIX::IncorrectTagValue(FIX::FIELD::Price);
    if (order.qty <= 0) throw FIX::IncorrectTagValue(FIX::FIELD::OrderQty);
    if (order.side != '1' && order.side != '2') throw FIX::IncorrectTagValue(FIX::FIELD::Side);
    order.leaves = order.qty;
    order.order_id = std::to_string(++next_id_);
    report(order, '0', '0', 0, 0);
    Book& book = books_[order.symbol];
    if (order.side == '1') {
      match(order, book.asks, [&](int64_t p) { return p <= order.price; });
      if (order.leaves > 0) book.bids[order.price].push_back(order);
    } else {
      match(order, book.bids, [&](int64_t p) { return p >= order.price; });
      if (order.leaves > 0) book.asks[order.price].push_back(order);
    }
  }

 private:
  template <class Side, class Crosses>
  void match(Order& taker, Side& levels, Crosses crosses) {
    while (taker.leaves > 0 && !levels.empty() && crosses(levels.begin()->first)) {
      auto level = levels.begin();
      std::deque<Order>& queue = level->second;
      Order& maker = queue.front();
      int64_t qty = taker.leaves < maker.leaves ? taker.leaves : maker.leaves;
      taker.leaves -= qty;
      taker.cum += qty;
      maker.leaves -= qty;
      maker.cum += qty;
      report(maker, 'F', maker.leaves ? '1' : '2', qty, level->first);
      report(taker, 'F', taker.leaves ? '1' : '2', qty, level->first);
      if (maker.leaves == 0) queue.pop_front();
      if (queue.empty()) levels.erase(level);
    }
  }

  void report(const Order& order, char exec_type, char status, int64_t last_qty,
              int64_t last_px) {
    FIX::Message er;
    er.getHeader().setField(FIX::FIELD::MsgType, "8");
    er.setField(FIX::FIELD::OrderID, order.order_id);
    er.setField(FIX::FIELD::ExecID, std::to_string(++next_exec_));
    er.setField(FIX::FIELD::ClOrdID, order.clordid);
    er.setField(FIX::FIELD::ExecType, std::string(1, exec_type));
    er.setField(FIX::FIELD::OrdStatus, std::string(1, status));
    er.setField(FIX::FIELD::Symbol, order.symbol);
    er.setField(FIX::FIELD::Side, std::string(1, order.side));
    er.setField(FIX::FIELD::OrderQty, format_units(order.qty));
    er.setField(FIX::FIELD::Price, format_units(order.price));
    er.setField(FIX::FIELD::LeavesQty, format_units(order.leaves));
    er.setField(FIX::FIELD::CumQty, format_units(order.cum));
    er.setField(FIX::FIELD::AvgPx, format_units(last_px ? last_px : 0));
    if (last_qty) {
      er.setField(FIX::FIELD::LastQty, format_units(last_qty));
      er.setField(FIX::FIELD::LastPx, format_units(last_px));
    }
    er.setField(FIX::TransactTime());
    FIX::Session::sendToTarget(er, order.session);
  }

  std::map<std::string, Book> books_;
  uint64_t next_id_ = 0, next_exec_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: ordermatch SETTINGS_FILE\n";
    return 2;
  }
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  try {
    FIX::SessionSettings settings(argv[1]);
    OrderMatch application;
    FIX::FileStoreFactory store(settings);
    FIX::SocketAcceptor acceptor(application, store, settings);
    acceptor.start();
    std::cout << "ready" << std::endl;
    while (!g_stop) pause();
    acceptor.stop();
  } catch (const std::exception& e) {
    std::cerr << "ordermatch: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
