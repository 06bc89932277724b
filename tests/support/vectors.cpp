#include "support/vectors.h"

#include "support/json.h"

#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#ifndef NLASSP_VECTORS_DIR_DEFAULT
#define NLASSP_VECTORS_DIR_DEFAULT "../shared/vectors"
#endif

namespace nlassp::test {

std::string vectors_dir()
{
	if (const char* env = std::getenv("NLASSP_VECTORS_DIR"); env && *env)
		return env;
	return NLASSP_VECTORS_DIR_DEFAULT;
}

static const Json* load(const std::string& file)
{
	static std::mutex lock;
	static std::map<std::string, Json> cache;
	std::lock_guard<std::mutex> guard(lock);
	auto it = cache.find(file);
	if (it != cache.end())
		return &it->second;
	std::ifstream in(vectors_dir() + "/" + file);
	if (!in)
		return nullptr;
	std::stringstream ss;
	ss << in.rdbuf();
	Json doc;
	if (!json_parse(ss.str(), doc))
		return nullptr;
	return &cache.emplace(file, std::move(doc)).first->second;
}

static const Json* find(const std::string& file, const std::string& path)
{
	const Json* node = load(file);
	size_t pos = 0;
	while (node && pos <= path.size()) {
		size_t dot = path.find('.', pos);
		std::string part = path.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
		if (node->type == Json::Type::Array) {
			char* end = nullptr;
			unsigned long idx = std::strtoul(part.c_str(), &end, 10);
			node = (end && *end == '\0' && !part.empty()) ? node->at(idx) : nullptr;
		} else {
			node = node->get(part);
		}
		if (dot == std::string::npos)
			break;
		pos = dot + 1;
	}
	return node;
}

bool vector_string(const std::string& file, const std::string& path, std::string& out)
{
	const Json* n = find(file, path);
	if (n && n->type == Json::Type::Object)
		n = n->get("hex");
	if (!n || n->type != Json::Type::String)
		return false;
	out = n->string;
	return true;
}

bool vector_hex(const std::string& file, const std::string& path, Bytes& out)
{
	std::string s;
	return vector_string(file, path, s) && from_hex(s, out);
}

bool vector_int(const std::string& file, const std::string& path, long long& out)
{
	const Json* n = find(file, path);
	if (!n || n->type != Json::Type::Number)
		return false;
	out = static_cast<long long>(n->number);
	return true;
}

long vector_count(const std::string& file, const std::string& path)
{
	const Json* n = find(file, path);
	if (!n)
		return -1;
	if (n->type == Json::Type::Array)
		return static_cast<long>(n->array.size());
	if (n->type == Json::Type::Object)
		return static_cast<long>(n->object.size());
	return -1;
}

} // namespace nlassp::test
