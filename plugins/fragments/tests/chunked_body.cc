// Splits captured bodies into chunks for the parser tests.
#include "chunked_body.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace e2b::fragments::test {
namespace {

constexpr std::string_view kCrlf = "\r\n";

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim_spaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

void decode_chunked(std::string_view data, CapturedResponse& out) {
  std::size_t pos = 0;
  for (;;) {
    const auto eol = data.find(kCrlf, pos);
    if (eol == std::string_view::npos) return;
    std::string_view size_line = data.substr(pos, eol - pos);
    size_line = size_line.substr(0, size_line.find(';'));  // chunk extensions
    size_line = trim_spaces(size_line);
    std::size_t size = 0;
    const auto [end, ec] = std::from_chars(size_line.data(), size_line.data() + size_line.size(), size, 16);
    if (ec != std::errc{} || end != size_line.data() + size_line.size() || size_line.empty()) return;
    pos = eol + kCrlf.size();
    if (size == 0) {
      out.terminated = true;
      return;
    }
    const std::string_view payload = data.substr(pos, std::min(size, data.size() - pos));
    out.body.append(payload);
    out.chunks.emplace_back(payload);
    if (payload.size() < size) return;
    pos += size;
    if (data.substr(pos, kCrlf.size()) != kCrlf) return;
    pos += kCrlf.size();
  }
}

}  // namespace

CapturedResponse parse_captured_response(std::string_view raw) {
  CapturedResponse out;
  const auto head_end = raw.find("\r\n\r\n");
  const std::string_view head = raw.substr(0, head_end);
  const std::string_view rest =
      head_end == std::string_view::npos ? std::string_view{} : raw.substr(head_end + 4);

  const auto status_end = head.find(kCrlf);
  const std::string_view status_line = head.substr(0, status_end);
  if (const auto sp = status_line.find(' '); sp != std::string_view::npos) {
    const std::string_view code = status_line.substr(sp + 1, 3);
    std::from_chars(code.data(), code.data() + code.size(), out.status);
  }

  bool chunked = false;
  std::size_t pos = status_end == std::string_view::npos ? head.size() : status_end + 2;
  while (pos < head.size()) {
    auto eol = head.find(kCrlf, pos);
    if (eol == std::string_view::npos) eol = head.size();
    const std::string_view line = head.substr(pos, eol - pos);
    if (const auto colon = line.find(':'); colon != std::string_view::npos) {
      const std::string_view name = line.substr(0, colon);
      const std::string_view value = trim_spaces(line.substr(colon + 1));
      out.headers.emplace_back(name, value);
      chunked = chunked || (iequals(name, "transfer-encoding") && iequals(value, "chunked"));
    }
    pos = eol + kCrlf.size();
  }

  if (chunked) {
    decode_chunked(rest, out);
  } else {
    out.body.assign(rest);
    if (!rest.empty()) out.chunks.emplace_back(rest);
  }
  return out;
}

CapturedResponse load_capture(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read capture " + path);
  const std::string raw{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  return parse_captured_response(raw);
}

}  // namespace e2b::fragments::test
