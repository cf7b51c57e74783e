/* A minimal streaming JSON writer (objects, arrays, numbers, strings). */
#ifndef FDEN_CLI_JSON_H
#define FDEN_CLI_JSON_H

#include <stdio.h>

#define JSON_MAX_DEPTH 16

struct json {
	FILE *f;
	int depth;
	int count[JSON_MAX_DEPTH]; /* members written at each level */
};

void json_init(struct json *j, FILE *f);
/* key: NULL inside arrays and at the root. */
void json_open(struct json *j, const char *key, char bracket /* '{' or '[' */);
void json_close(struct json *j, char bracket /* '}' or ']' */);
/* Non-finite numbers are written as null. */
void json_num(struct json *j, const char *key, double v);
void json_int(struct json *j, const char *key, long long v);
void json_str(struct json *j, const char *key, const char *s);
void json_bool(struct json *j, const char *key, int v);

#endif
