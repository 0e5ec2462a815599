#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# Writes userspace/api/k8s_schema.c: the Kubernetes protobuf messages that
# skiff-apiserver decodes (userspace/api/k8s_protobuf.c), as C tables.
#
#	userspace/api/k8s_schema_gen.py KUBECTL > userspace/api/k8s_schema.c
#
# Both facts it needs are read from a kubectl binary (a static Go 1.23
# x86-64 ELF, as the kubectl 1.32 on the test machines), so that the table
# is that kubectl's API version exactly:
# - the messages (names, field numbers, types, labels, map entries) from
#   the gzipped FileDescriptorProtos that the generated Go code registers;
# - how each field is written as JSON (its JSON name, omitempty, inline,
#   pointer or value) from the Go struct tags and field types in the
#   binary's runtime type data (abi.Type, abi.StructType, abi.Name).
# Every proto field must match exactly one Go field by number, and the
# reverse; anything else stops the script.

import re
import struct
import sys
import zlib

ROOTS = [
	('v1', 'Pod', 'k8s.io.api.core.v1.Pod'),
	('v1', 'Service', 'k8s.io.api.core.v1.Service'),
	('v1', 'Endpoints', 'k8s.io.api.core.v1.Endpoints'),
	('v1', 'ConfigMap', 'k8s.io.api.core.v1.ConfigMap'),
	('v1', 'Secret', 'k8s.io.api.core.v1.Secret'),
	('v1', 'Namespace', 'k8s.io.api.core.v1.Namespace'),
	('v1', 'Node', 'k8s.io.api.core.v1.Node'),
	('v1', 'Event', 'k8s.io.api.core.v1.Event'),
	('v1', 'Binding', 'k8s.io.api.core.v1.Binding'),
	('apps/v1', 'Deployment', 'k8s.io.api.apps.v1.Deployment'),
	('apps/v1', 'ReplicaSet', 'k8s.io.api.apps.v1.ReplicaSet'),
	('apps/v1', 'DaemonSet', 'k8s.io.api.apps.v1.DaemonSet'),
	('apps/v1', 'StatefulSet', 'k8s.io.api.apps.v1.StatefulSet'),
	('apps/v1', 'ControllerRevision', 'k8s.io.api.apps.v1.ControllerRevision'),
	('batch/v1', 'Job', 'k8s.io.api.batch.v1.Job'),
	('coordination.k8s.io/v1', 'Lease', 'k8s.io.api.coordination.v1.Lease'),
	('autoscaling/v1', 'Scale', 'k8s.io.api.autoscaling.v1.Scale'),
	# Kubernetes registers these two in every group version.
	('*', 'DeleteOptions', 'k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions'),
	('*', 'Status', 'k8s.io.apimachinery.pkg.apis.meta.v1.Status'),
]
ENVELOPE = 'k8s.io.apimachinery.pkg.runtime.Unknown'

META = 'k8s.io.apimachinery.pkg.apis.meta.v1.'
SPECIAL = {
	META + 'Time': 'K8S_TIME',
	META + 'MicroTime': 'K8S_MICRO_TIME',
	META + 'Duration': 'K8S_DURATION',
	META + 'FieldsV1': 'K8S_FIELDS_V1',
	'k8s.io.apimachinery.pkg.api.resource.Quantity': 'K8S_QUANTITY',
	'k8s.io.apimachinery.pkg.util.intstr.IntOrString': 'K8S_INT_OR_STRING',
	'k8s.io.apimachinery.pkg.runtime.RawExtension': 'K8S_RAW_EXTENSION',
	ENVELOPE: 'K8S_ENVELOPE',
	'k8s.io.apimachinery.pkg.runtime.TypeMeta': 'K8S_ENVELOPE',
}

# ---- protobuf wire format and descriptors ---------------------------------

def varint(b, i):
	r = s = 0
	while True:
		c = b[i]
		i += 1
		r |= (c & 0x7f) << s
		s += 7
		if not c & 0x80:
			return r, i

def pb_fields(b):
	i = 0
	while i < len(b):
		k, i = varint(b, i)
		f, w = k >> 3, k & 7
		if w == 0:
			v, i = varint(b, i)
		elif w == 2:
			n, i = varint(b, i)
			v = b[i:i + n]
			i += n
		elif w == 1:
			v, i = b[i:i + 8], i + 8
		elif w == 5:
			v, i = b[i:i + 4], i + 4
		else:
			raise ValueError('wire type %d' % w)
		yield f, v

PB_TYPES = {3: 'int64', 5: 'int32', 8: 'bool', 9: 'string', 11: 'message', 12: 'bytes'}

def pb_field(b):
	d = {'options': {}}
	for f, v in pb_fields(b):
		if f == 1:
			d['name'] = v.decode()
		elif f == 3:
			d['number'] = v
		elif f == 4:
			d['repeated'] = v == 3
		elif f == 5:
			if v not in PB_TYPES:
				raise ValueError('proto type %d' % v)
			d['type'] = PB_TYPES[v]
		elif f == 6:
			d['type_name'] = v.decode().lstrip('.')
		elif f == 8:
			d['options'] = dict(pb_fields(v))
	return d

def pb_message(b, prefix, out):
	m = {'fields': [], 'map_entry': False}
	for f, v in pb_fields(b):
		if f == 1:
			m['name'] = prefix + v.decode()
		elif f == 2:
			m['fields'].append(pb_field(v))
		elif f == 3:
			pb_message(v, m['name'] + '.', out)
		elif f == 7:
			m['map_entry'] = dict(pb_fields(v)).get(7) == 1
	out[m['name']] = m

def descriptors(data):
	msgs = {}
	for hit in re.finditer(b'\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff', data):
		try:
			fd = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(
				data[hit.start():hit.start() + (1 << 20)])
			top = list(pb_fields(fd))
		except (zlib.error, ValueError, IndexError):
			continue
		name = [v for f, v in top if f == 1]
		pkg = [v for f, v in top if f == 2]
		if not name or not name[0].startswith(b'k8s.io/') or not pkg:
			continue
		for f, v in top:
			if f == 4:
				pb_message(v, pkg[0].decode() + '.', msgs)
	return msgs

# ---- Go runtime type data (Go 1.23, amd64) ---------------------------------

KINDS = {1: 'bool', 5: 'int32', 6: 'int64', 8: 'uint8', 21: 'map',
	 22: 'ptr', 23: 'slice', 24: 'string', 25: 'struct'}

class Binary:
	def __init__(self, data):
		self.data = data
		phoff, = struct.unpack_from('<Q', data, 0x20)
		phsize, phnum = struct.unpack_from('<HH', data, 0x36)
		self.segs = []
		for i in range(phnum):
			t, _, o, va, _, sz = struct.unpack_from('<IIQQQQ', data, phoff + i * phsize)
			if t == 1:
				self.segs.append((va, sz, o))
		shoff, = struct.unpack_from('<Q', data, 0x28)
		shsize, shnum, shstr = struct.unpack_from('<HHH', data, 0x3a)
		sects = [struct.unpack_from('<IIQQQQ', data, shoff + i * shsize) for i in range(shnum)]
		names = sects[shstr][4]
		self.sections = {}
		for nm, _, _, addr, o, sz in sects:
			end = data.index(b'\0', names + nm)
			self.sections[data[names + nm:end].decode()] = (addr, sz)
		# moduledata: the one whose first word is .gopclntab and whose
		# text (word 22) is .text.
		pcln = struct.pack('<Q', self.sections['.gopclntab'][0])
		text = self.sections['.text'][0]
		i = 0
		while True:
			i = data.index(pcln, i + 1)
			if struct.unpack_from('<Q', data, i + 176)[0] == text:
				break
		self.types, = struct.unpack_from('<Q', data, i + 296)
		self.typelinks = struct.unpack_from('<QQ', data, i + 352)
		self.cache = {}

	def off(self, va):
		for v, sz, o in self.segs:
			if v <= va < v + sz:
				return o + va - v
		raise KeyError(hex(va))

	def u8(self, va):
		return self.data[self.off(va)]

	def i32(self, va):
		return struct.unpack_from('<i', self.data, self.off(va))[0]

	def u64(self, va):
		return struct.unpack_from('<Q', self.data, self.off(va))[0]

	def name(self, va):
		flags = self.u8(va)
		n, p = varint(self.data, self.off(va) + 1)
		s = self.data[p:p + n].decode()
		p += n
		tag = ''
		if flags & 2:
			n, p = varint(self.data, p)
			tag = self.data[p:p + n].decode()
		return s, tag, bool(flags & 8)

	def typ(self, va):
		if va in self.cache:
			return self.cache[va]
		t = {}
		self.cache[va] = t
		tflag = self.u8(va + 20)
		t['kind'] = KINDS.get(self.u8(va + 23) & 0x1f, 'other')
		s = self.name(self.types + self.i32(va + 40))[0]
		t['str'] = s[1:] if tflag & 2 else s
		uncommon = {'ptr': 56, 'slice': 56, 'map': 88, 'struct': 80}.get(t['kind'], 48)
		if tflag & 1 and t['kind'] != 'other':
			pk = self.i32(va + uncommon)
			if pk:
				t['pkg'] = self.name(self.types + pk)[0]
		if t['kind'] in ('ptr', 'slice'):
			t['elem'] = self.typ(self.u64(va + 48))
		elif t['kind'] == 'map':
			t['key'] = self.typ(self.u64(va + 48))
			t['elem'] = self.typ(self.u64(va + 56))
		elif t['kind'] == 'struct':
			fp, n = self.u64(va + 56), self.u64(va + 64)
			t['fields'] = []
			for k in range(n):
				fname, tag, emb = self.name(self.u64(fp + 24 * k))
				t['fields'].append({'name': fname, 'tag': tag, 'embedded': emb,
						    'type': self.typ(self.u64(fp + 24 * k + 8))})
		return t

	def structs(self):
		base, n = self.typelinks
		for k in range(n):
			try:
				self.typ(self.types + struct.unpack_from('<i', self.data, self.off(base + 4 * k))[0])
			except (KeyError, UnicodeDecodeError, IndexError, struct.error):
				pass
		out = {}
		for t in list(self.cache.values()):
			if t.get('kind') == 'struct' and 'pkg' in t:
				out[(t['pkg'], t['str'].split('.')[-1])] = t
		return out

# ---- joining the two -------------------------------------------------------

def go_package(msg_name):
	pkg = msg_name.rsplit('.', 1)[0]
	if pkg.startswith('k8s.io.api.'):
		return 'k8s.io/api/' + pkg[len('k8s.io.api.'):].replace('.', '/')
	return 'k8s.io/apimachinery/' + pkg[len('k8s.io.apimachinery.'):].replace('.', '/')

def tag_get(tag, key):
	m = re.search(r'(?:^| )' + key + r':"([^"]*)"', tag)
	return m.group(1) if m else None

def cident(name):
	for prefix in ('k8s.io.apimachinery.pkg.apis.', 'k8s.io.apimachinery.pkg.', 'k8s.io.api.'):
		if name.startswith(prefix):
			return 'M_' + name[len(prefix):].replace('.', '_')
	raise ValueError(name)

def build(msgs, structs):
	# Duration is in no served kind yet; it is kept for the ones to come.
	todo = [ENVELOPE, META + 'Duration'] + [r[2] for r in ROOTS]
	seen = []
	out = {}
	while todo:
		name = todo.pop(0)
		if name in out:
			continue
		m = msgs[name]
		special = 'K8S_MAP_ENTRY' if m['map_entry'] else SPECIAL.get(name, 'K8S_PLAIN')
		go = None
		if special == 'K8S_PLAIN':
			go = structs[(go_package(name), name.rsplit('.', 1)[1])]
		fields = []
		by_num = {}
		if go:
			for gf in go['fields']:
				pt = tag_get(gf['tag'], 'protobuf')
				if pt is None:
					assert tag_get(gf['tag'], 'json') in (',inline', '-'), (name, gf)
					continue
				by_num[int(pt.split(',')[1])] = gf
		for pf in m['fields']:
			assert 0 < pf['number'] < 65536
			f = {'number': pf['number'], 'type': pf['type'], 'flags': [], 'msg': None}
			if pf['type'] == 'message':
				f['msg'] = pf['type_name']
				todo.append(pf['type_name'])
			entry = pf['type'] == 'message' and msgs[pf['type_name']]['map_entry']
			if pf.get('repeated'):
				f['flags'].append('MAP' if entry else 'REP')
			if go is None:
				f['json'] = pf['name']
				fields.append(f)
				continue
			gf = by_num.pop(pf['number'])
			js = tag_get(gf['tag'], 'json')
			jname, _, opts = js.partition(',')
			gt = gf['type']
			if opts == 'inline' or ',inline' in js:
				assert jname == '' and pf['type'] == 'message', (name, gf)
				assert gt['kind'] == 'struct' and not pf.get('repeated'), (name, gf)
				f['flags'].append('INL')
				f['json'] = None
			else:
				assert jname and jname != '-', (name, gf)
				f['json'] = jname
			if 'omitempty' in opts.split(','):
				f['flags'].append('OMIT')
			nullable = pf['options'].get(65001, 1) == 1
			if gt['kind'] == 'ptr':
				assert nullable and not pf.get('repeated'), (name, gf)
				f['flags'].append('PTR')
				gt = gt['elem']
			elif pf.get('repeated'):
				assert gt['kind'] == ('map' if entry else 'slice'), (name, gf)
			elif pf['type'] == 'bytes':
				assert gt['kind'] == 'slice' and gt['elem']['kind'] == 'uint8', (name, gf)
			else:
				assert not nullable or pf['type'] == 'message' and not nullable, (name, gf)
				want = {'int32': 'int32', 'int64': 'int64', 'bool': 'bool',
					'string': 'string', 'message': 'struct'}[pf['type']]
				assert gt['kind'] == want, (name, gf, gt)
			fields.append(f)
		assert not by_num, (name, by_num)
		out[name] = {'special': special, 'fields': fields}
		seen.append(name)
	return seen, out

TYPES = {'int32': 'T_I32', 'int64': 'T_I64', 'bool': 'T_BOOL', 'string': 'T_STR',
	 'bytes': 'T_BYTES', 'message': 'T_MSG'}

def wrap(first, pieces, cont, last):
	# pieces joined by ', ', at most 100 columns, the rest on lines that
	# start with cont.
	lines = [first]
	for i, piece in enumerate(pieces):
		text = piece + (last if i == len(pieces) - 1 else ',')
		sep = '' if lines[-1] == first or lines[-1] == cont else ' '
		if len((lines[-1] + sep + text).expandtabs(8)) > 100 and lines[-1] not in (first, cont):
			lines.append(cont)
			sep = ''
		lines[-1] += sep + text
	return '\n'.join(lines)

def emit(seen, out, kubectl_version):
	order = sorted(seen)
	p = print
	p('// SPDX-License-Identifier: GPL-2.0')
	p('/*')
	p(' * The Kubernetes protobuf messages skiff-apiserver decodes: every message')
	p(' * reachable from the kinds at the end, each with its fields in the order')
	p(' * of its JSON form. Generated by k8s_schema_gen.py from %s;' % kubectl_version)
	p(' * do not edit, regenerate (see k8s_schema.h).')
	p(' */')
	p('')
	p('#include "k8s_schema.h"')
	p('#include "util.h"')
	p('')
	p('#define T_BOOL K8S_BOOL')
	p('#define T_I32 K8S_INT32')
	p('#define T_I64 K8S_INT64')
	p('#define T_STR K8S_STRING')
	p('#define T_BYTES K8S_BYTES')
	p('#define T_MSG K8S_MESSAGE')
	p('#define REP K8S_REPEATED')
	p('#define MAP K8S_MAP')
	p('#define PTR K8S_POINTER')
	p('#define OMIT K8S_OMITEMPTY')
	p('#define INL K8S_INLINE')
	p('')
	p('enum {')
	for n in order:
		p('\t%s,' % cident(n))
	p('};')
	for n in order:
		p('')
		decl = 'static const struct k8s_field %s[] = {' % cident(n)[2:]
		if len(decl) > 100:
			decl = 'static const struct k8s_field\n%s[] = {' % cident(n)[2:]
		p(decl)
		for f in out[n]['fields']:
			flags = ' | '.join(f['flags']) or '0'
			js = '"%s"' % f['json'] if f['json'] else 'NULL'
			msg = cident(f['msg']) if f['msg'] else '0'
			p(wrap('\t{ ', [str(f['number']), TYPES[f['type']], flags, msg, js], '\t  ', ' },'))
		p('};')
	p('')
	p('const struct k8s_message k8s_messages[] = {')
	for n in order:
		c = cident(n)
		p('\t[%s] = {' % c)
		p('\t\t"%s",' % n)
		p(wrap('\t\t', [c[2:], 'ARRAY_SIZE(%s)' % c[2:], out[n]['special']], '\t\t', ' },'))
	p('};')
	p('')
	p('const size_t k8s_messages_count = ARRAY_SIZE(k8s_messages);')
	p('')
	p('const struct k8s_kind k8s_kinds[] = {')
	for av, kind, msg in ROOTS:
		p('\t{ %s, "%s", %s },' % ('NULL' if av == '*' else '"%s"' % av, kind, cident(msg)))
	p('};')
	p('')
	p('const size_t k8s_kinds_count = ARRAY_SIZE(k8s_kinds);')
	p('')
	p('const struct k8s_message *const k8s_envelope = &k8s_messages[%s];' % cident(ENVELOPE))

def main():
	path = sys.argv[1]
	data = open(path, 'rb').read()
	msgs = descriptors(data)
	structs = Binary(data).structs()
	seen, out = build(msgs, structs)
	ver = sys.argv[2] if len(sys.argv) > 2 else 'kubectl'
	emit(seen, out, ver)
	print('%d messages, %d fields' % (len(seen), sum(len(v['fields']) for v in out.values())), file=sys.stderr)

main()
