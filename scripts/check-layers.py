#!/usr/bin/env python3
"""Check every #include of libfden/ against its layer graph.

usage: check-layers.py LIBFDEN_DIR INCLUDE_DIR LAYER=BELOW,BELOW ... \
                       --public HEADER=LAYER ...

The graph comes from libfden/meson.build (fden_layers), the one place it is
written: each LAYER=... argument names a folder of libfden/ and the layers
it may include (everything below it; its own folder always). A quoted
include "dir/file.h" must name a file of an allowed layer; an angle include
<fden/x.h> must be a public header mapped to an allowed layer (--public);
<fden/fden.h>, the umbrella, is for users only. The public headers are
held to the same map. Prints every violation as file:line and exits 1 if
there is any; prints the graph and a count of checked includes otherwise.
"""
import os
import re
import sys

INC = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    root, incdir = argv[1], argv[2]
    allowed, public, mode = {}, {}, 'layers'
    for a in argv[3:]:
        if a == '--public':
            mode = 'public'
            continue
        name, _, rest = a.partition('=')
        if mode == 'layers':
            allowed[name] = set(x for x in rest.split(',') if x) | {name}
        else:
            public[name] = rest
    bad, checked = [], 0

    def check(path, layer):
        nonlocal checked
        with open(path, encoding='utf-8') as f:
            for n, line in enumerate(f, 1):
                m = INC.match(line)
                if not m:
                    continue
                kind, target = m.groups()
                where = '%s:%d' % (os.path.relpath(path), n)
                if kind == '"':
                    dep = target.split('/')[0] if '/' in target else None
                    if dep is None:
                        bad.append('%s: "%s" has no layer folder (write "%s/%s")'
                                   % (where, target, layer, target))
                    elif dep not in allowed:
                        bad.append('%s: "%s" is in no layer' % (where, target))
                    elif dep not in allowed[layer]:
                        bad.append('%s: %s includes "%s" (layer %s is not below %s)'
                                   % (where, layer, target, dep, layer))
                    else:
                        checked += 1
                elif target.startswith('fden/'):
                    h = target[len('fden/'):]
                    dep = public.get(h)
                    if dep is None:
                        bad.append('%s: <%s> is not a public header a layer may include'
                                   % (where, target))
                    elif dep not in allowed[layer]:
                        bad.append('%s: %s includes <%s> (layer %s is not below %s)'
                                   % (where, layer, target, dep, layer))
                    else:
                        checked += 1

    for layer in sorted(os.listdir(root)):
        d = os.path.join(root, layer)
        if not os.path.isdir(d):
            continue
        if layer not in allowed:
            bad.append('%s: a folder of libfden/ with no place in the graph' % d)
            continue
        for dp, _, files in os.walk(d):
            for fn in sorted(files):
                if fn.endswith(('.c', '.h')):
                    check(os.path.join(dp, fn), layer)
    for fn in sorted(os.listdir(incdir)):
        h = fn[:-3] if fn.endswith('.h.in') else fn
        if h.endswith('.h') and h in public:
            check(os.path.join(incdir, fn), public[h])
    if bad:
        print('\n'.join(bad))
        print('%d include(s) against the layer graph' % len(bad))
        return 1
    for layer in allowed:
        print('%-8s may include %s' % (layer, ', '.join(sorted(allowed[layer] - {layer})) or '-'))
    print('%d includes checked, none against the graph' % checked)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
