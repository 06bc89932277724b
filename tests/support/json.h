// A small, strict JSON reader for test vectors (tests only; never used on network input).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace nlassp::test {

struct Json {
	enum class Type { Null, Bool, Number, String, Array, Object } type = Type::Null;
	bool boolean = false;
	double number = 0;
	std::string string;
	std::vector<Json> array;
	// Members in document order (Json is incomplete here, so no std::pair<std::string, Json>).
	struct Member;
	std::vector<Member> object;

	const Json* get(const std::string& key) const;
	const Json* at(size_t index) const;
};

struct Json::Member {
	std::string first;
	Json second;
};

// Parses a whole document; false on any syntax error.
[[nodiscard]] bool json_parse(const std::string& text, Json& out);

} // namespace nlassp::test
