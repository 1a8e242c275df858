/* Debian trixie's static libelf.a (elfutils 0.192) calls elfutils' internal search-tree helpers
 * but ships without them (they live in libeu, which is not packaged), so `gcc -static ... -lelf`
 * fails with "undefined reference to eu_search_tree_init". These are the same helpers over
 * glibc's tsearch family; libelf is built without its thread-safety locks, so a tree is its root
 * pointer only. Linked into the kernel's example schedulers by tests/vm/prepare.sh. */
#define _GNU_SOURCE
#include <search.h>
#include <stddef.h>

typedef struct { void *root; } search_tree;
typedef int (*compare_fn)(const void *, const void *);

void eu_search_tree_init(search_tree *tree) { tree->root = NULL; }

void eu_search_tree_fini(search_tree *tree, void (*free_node)(void *))
{
	tdestroy(tree->root, free_node);
	tree->root = NULL;
}

void *eu_tsearch(const void *key, search_tree *tree, compare_fn compare)
{
	return tsearch(key, &tree->root, compare);
}

void *eu_tfind(const void *key, search_tree *tree, compare_fn compare)
{
	return tfind(key, &tree->root, compare);
}

void *eu_tdelete(const void *key, search_tree *tree, compare_fn compare)
{
	return tdelete(key, &tree->root, compare);
}
