// The few libc string functions a freestanding kernel needs (gcc may also emit calls to
// memcpy/memset/memmove/memcmp itself, so they are extern "C").
#pragma once

#include <stddef.h>
#include <stdint.h>

extern "C" {
void* memcpy(void* dst, const void* src, size_t n);
void* memmove(void* dst, const void* src, size_t n);
void* memset(void* dst, int c, size_t n);
int memcmp(const void* a, const void* b, size_t n);
size_t strlen(const char* s);
}

/// Equal C strings.
bool str_eq(const char* a, const char* b);
/// a[0..n) equals the C string b exactly (no longer, no shorter).
bool str_eq_n(const char* a, size_t n, const char* b);
/// Copies at most cap-1 bytes and always NUL-terminates.
void str_copy(char* dst, size_t cap, const char* src);
