#include "support/vectors.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>

#ifndef NLASSP_VECTORS_DIR_DEFAULT
#error "NLASSP_VECTORS_DIR_DEFAULT (the tree's tests/vectors) must be defined by the build"
#endif

namespace nlassp::test {

namespace {

using Json = nlohmann::json;

struct Loaded {
	bool ok = false;
	Json doc;
};

std::string path_of(const std::string& file)
{
	return vectors_dir() + "/" + file;
}

// Each file is read once per process; a failure to read or parse it is reported once, naming it.
const Json* load(const std::string& file)
{
	static std::mutex lock;
	static std::map<std::string, Loaded> cache;
	std::lock_guard<std::mutex> guard(lock);
	if (auto it = cache.find(file); it != cache.end())
		return it->second.ok ? &it->second.doc : nullptr;
	Loaded& entry = cache[file];
	const std::string path = path_of(file);
	std::ifstream in(path);
	if (!in) {
		std::fprintf(stderr, "known-answer vectors: cannot read %s (%s); the tests need the files in tests/vectors\n",
		             path.c_str(), std::strerror(errno));
		return nullptr;
	}
	entry.doc = Json::parse(in, nullptr, false);
	if (entry.doc.is_discarded() || !entry.doc.is_object()) {
		std::fprintf(stderr, "known-answer vectors: %s is not a JSON object\n", path.c_str());
		return nullptr;
	}
	entry.ok = true;
	return &entry.doc;
}

bool is_index(const std::string& part, size_t& index)
{
	if (part.empty() || part.find_first_not_of("0123456789") != std::string::npos)
		return false;
	index = std::strtoul(part.c_str(), nullptr, 10);
	return true;
}

// The node at a dotted path and the nearest "section" on the way to it (its own included).
const Json* find(const std::string& file, const std::string& dotted, std::string& section)
{
	const Json* node = load(file);
	if (!node)
		return nullptr;
	section.clear();
	size_t pos = 0;
	for (;;) {
		if (node->is_object()) {
			if (auto s = node->find("section"); s != node->end() && s->is_string())
				section = s->get<std::string>();
		}
		if (pos > dotted.size())
			break;
		const size_t dot = dotted.find('.', pos);
		const std::string part = dotted.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
		size_t index = 0;
		if (node->is_array() && is_index(part, index) && index < node->size()) {
			node = &(*node)[index];
		} else if (node->is_object() && node->contains(part)) {
			node = &(*node)[part];
		} else {
			std::fprintf(stderr, "known-answer vectors: %s has no value at %s\n", path_of(file).c_str(), dotted.c_str());
			return nullptr;
		}
		pos = dot == std::string::npos ? dotted.size() + 1 : dot + 1;
	}
	return node;
}

// A value the tests may use: present and carrying a section.
const Json* value(const std::string& file, const std::string& dotted)
{
	std::string section;
	const Json* node = find(file, dotted, section);
	if (node && section.empty()) {
		std::fprintf(stderr, "known-answer vectors: %s: %s carries no spec section\n", path_of(file).c_str(),
		             dotted.c_str());
		return nullptr;
	}
	return node;
}

bool wrong_type(const std::string& file, const std::string& dotted, const char* want)
{
	std::fprintf(stderr, "known-answer vectors: %s: %s is not %s\n", path_of(file).c_str(), dotted.c_str(), want);
	return false;
}

} // namespace

std::string vectors_dir()
{
	if (const char* env = std::getenv("NLASSP_VECTORS_DIR"); env && *env)
		return env;
	return NLASSP_VECTORS_DIR_DEFAULT;
}

bool vector_string(const std::string& file, const std::string& path, std::string& out)
{
	const Json* n = value(file, path);
	if (!n)
		return false;
	if (n->is_object() && n->contains("hex"))
		n = &(*n)["hex"];
	if (!n->is_string())
		return wrong_type(file, path, "a string");
	out = n->get<std::string>();
	return true;
}

bool vector_hex(const std::string& file, const std::string& path, Bytes& out)
{
	std::string s;
	if (!vector_string(file, path, s))
		return false;
	if (!from_hex(s, out))
		return wrong_type(file, path, "hex");
	return true;
}

bool vector_int(const std::string& file, const std::string& path, long long& out)
{
	const Json* n = value(file, path);
	if (!n)
		return false;
	if (!n->is_number_integer())
		return wrong_type(file, path, "an integer");
	out = n->get<long long>();
	return true;
}

long vector_count(const std::string& file, const std::string& path)
{
	std::string section;   // a container: its elements carry the sections
	const Json* n = find(file, path, section);
	if (!n)
		return -1;
	if (n->is_array() || n->is_object())
		return static_cast<long>(n->size());
	wrong_type(file, path, "an array or object");
	return -1;
}

std::string vector_section(const std::string& file, const std::string& path)
{
	std::string section;
	if (!find(file, path, section))
		return {};
	if (section.empty())
		std::fprintf(stderr, "known-answer vectors: %s: %s carries no spec section\n", path_of(file).c_str(),
		             path.c_str());
	return section;
}

} // namespace nlassp::test
