#include "support/json.h"

#include <cstdlib>

namespace nlassp::test {

const Json* Json::get(const std::string& key) const
{
	for (const auto& [k, v] : object)
		if (k == key)
			return &v;
	return nullptr;
}

const Json* Json::at(size_t index) const { return index < array.size() ? &array[index] : nullptr; }

namespace {

class Parser {
public:
	explicit Parser(const std::string& t) : s_(t) {}

	bool document(Json& out)
	{
		if (!value(out, 0))
			return false;
		ws();
		return i_ == s_.size();
	}

private:
	void ws()
	{
		while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t'))
			++i_;
	}
	bool lit(const char* w)
	{
		size_t n = std::char_traits<char>::length(w);
		if (s_.compare(i_, n, w) != 0)
			return false;
		i_ += n;
		return true;
	}
	static void utf8(std::string& out, unsigned cp)
	{
		if (cp < 0x80) {
			out.push_back(static_cast<char>(cp));
		} else if (cp < 0x800) {
			out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
			out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
		} else if (cp < 0x10000) {
			out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
			out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
			out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
		} else {
			out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
			out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
			out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
			out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
		}
	}
	bool hex4(unsigned& v)
	{
		if (i_ + 4 > s_.size())
			return false;
		v = 0;
		for (int k = 0; k < 4; ++k) {
			char c = s_[i_++];
			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= static_cast<unsigned>(c - '0');
			else if (c >= 'a' && c <= 'f')
				v |= static_cast<unsigned>(c - 'a' + 10);
			else if (c >= 'A' && c <= 'F')
				v |= static_cast<unsigned>(c - 'A' + 10);
			else
				return false;
		}
		return true;
	}
	bool str(std::string& out)
	{
		if (i_ >= s_.size() || s_[i_] != '"')
			return false;
		++i_;
		while (i_ < s_.size()) {
			char c = s_[i_++];
			if (c == '"')
				return true;
			if (c != '\\') {
				out.push_back(c);
				continue;
			}
			if (i_ >= s_.size())
				return false;
			char e = s_[i_++];
			switch (e) {
			case '"': out.push_back('"'); break;
			case '\\': out.push_back('\\'); break;
			case '/': out.push_back('/'); break;
			case 'b': out.push_back('\b'); break;
			case 'f': out.push_back('\f'); break;
			case 'n': out.push_back('\n'); break;
			case 'r': out.push_back('\r'); break;
			case 't': out.push_back('\t'); break;
			case 'u': {
				unsigned cp = 0;
				if (!hex4(cp))
					return false;
				if (cp >= 0xd800 && cp < 0xdc00) {
					unsigned lo = 0;
					if (!lit("\\u") || !hex4(lo) || lo < 0xdc00 || lo > 0xdfff)
						return false;
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				}
				utf8(out, cp);
				break;
			}
			default: return false;
			}
		}
		return false;
	}
	bool value(Json& out, int depth)
	{
		if (depth > 64)
			return false;
		ws();
		if (i_ >= s_.size())
			return false;
		char c = s_[i_];
		if (c == '{') {
			++i_;
			out.type = Json::Type::Object;
			ws();
			if (i_ < s_.size() && s_[i_] == '}') {
				++i_;
				return true;
			}
			for (;;) {
				ws();
				std::string key;
				if (!str(key))
					return false;
				ws();
				if (i_ >= s_.size() || s_[i_++] != ':')
					return false;
				Json v;
				if (!value(v, depth + 1))
					return false;
				out.object.push_back(Json::Member{std::move(key), std::move(v)});
				ws();
				if (i_ >= s_.size())
					return false;
				if (s_[i_] == ',') {
					++i_;
					continue;
				}
				if (s_[i_] == '}') {
					++i_;
					return true;
				}
				return false;
			}
		}
		if (c == '[') {
			++i_;
			out.type = Json::Type::Array;
			ws();
			if (i_ < s_.size() && s_[i_] == ']') {
				++i_;
				return true;
			}
			for (;;) {
				Json v;
				if (!value(v, depth + 1))
					return false;
				out.array.push_back(std::move(v));
				ws();
				if (i_ >= s_.size())
					return false;
				if (s_[i_] == ',') {
					++i_;
					continue;
				}
				if (s_[i_] == ']') {
					++i_;
					return true;
				}
				return false;
			}
		}
		if (c == '"') {
			out.type = Json::Type::String;
			return str(out.string);
		}
		if (lit("true")) {
			out.type = Json::Type::Bool;
			out.boolean = true;
			return true;
		}
		if (lit("false")) {
			out.type = Json::Type::Bool;
			return true;
		}
		if (lit("null")) {
			out.type = Json::Type::Null;
			return true;
		}
		const char* begin = s_.c_str() + i_;
		char* end = nullptr;
		out.number = std::strtod(begin, &end);
		if (end == begin)
			return false;
		out.type = Json::Type::Number;
		i_ += static_cast<size_t>(end - begin);
		return true;
	}

	const std::string& s_;
	size_t i_ = 0;
};

} // namespace

bool json_parse(const std::string& text, Json& out)
{
	out = Json{};
	return Parser(text).document(out);
}

} // namespace nlassp::test
