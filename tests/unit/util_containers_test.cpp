#include "util/flat_fields.hpp"
#include "util/small_fifo.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <string>

using hub::flat_fields;
using hub::small_fifo;

TEST_CASE("small_fifo: first in, first out across compactions and emptying", "[util]") {
  small_fifo<int> q;
  CHECK(q.empty());
  CHECK(q.size() == 0);
  int next_in = 0, next_out = 0;
  // Uneven pushes and pops cross the compaction threshold many times.
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < 7 + round % 5; ++i) q.push_back(next_in++);
    for (int i = 0; i < 5 + round % 7 && !q.empty(); ++i) {
      REQUIRE(q.front() == next_out++);
      q.pop_front();
    }
    REQUIRE(q.size() == static_cast<std::size_t>(next_in - next_out));
  }
  while (!q.empty()) {
    REQUIRE(q.front() == next_out++);
    q.pop_front();
  }
  CHECK(next_out == next_in);
  q.push_back(42);  // usable again after emptying
  CHECK(q.front() == 42);
  CHECK(q.size() == 1);
}

TEST_CASE("small_fifo: a popped element is released at once", "[util]") {
  small_fifo<std::shared_ptr<int>> q;
  auto a = std::make_shared<int>(1);
  std::weak_ptr<int> watch = a;
  q.push_back(std::move(a));
  q.push_back(std::make_shared<int>(2));
  q.pop_front();
  CHECK(watch.expired());
  CHECK(*q.front() == 2);
}

TEST_CASE("flat_fields: lookups, order, repeats and empty values", "[util]") {
  flat_fields f{{"host", "example.com"}, {"x-empty", ""}, {"cookie", "a=1"}, {"cookie", "b=2"}};
  CHECK(f.size() == 4);
  CHECK_FALSE(f.empty());
  CHECK(f.find("host") == std::optional<std::string_view>("example.com"));
  CHECK(f.find("x-empty") == std::optional<std::string_view>(""));
  CHECK(f.count("x-empty") == 1);
  CHECK(f.at("cookie") == "a=1");  // the first of a repeated name
  CHECK_FALSE(f.find("missing").has_value());
  CHECK(f.count("missing") == 0);
  CHECK_THROWS_AS(f.at("missing"), std::out_of_range);
  std::string order;
  f.for_each([&](std::string_view k, std::string_view v) {
    order += k;
    order += '=';
    order += v;
    order += ';';
  });
  CHECK(order == "host=example.com;x-empty=;cookie=a=1;cookie=b=2;");
}

TEST_CASE("flat_fields: from a map, including long and binary values", "[util]") {
  std::map<std::string, std::string> m{{"a", std::string(70000, 'x')}, {"b", std::string("n\0ul", 4)}, {"", "e"}};
  auto f = flat_fields::from(m);
  CHECK(f.size() == 3);
  CHECK(f.at("a").size() == 70000);
  CHECK(f.at("b") == std::string_view("n\0ul", 4));
  CHECK(f.at("") == "e");
  CHECK(flat_fields{}.empty());
  CHECK(flat_fields{}.size() == 0);
}
