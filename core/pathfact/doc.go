// Package pathfact computes the facts policies decide on about every
// path-like argument of an MCP tool call: where the path really points
// (canonical, symbolic links resolved), whether it is inside the allowed
// roots, whether it is sensitive, and every trick seen on the way
// (traversal, percent-encoding, NUL bytes, Unicode look-alikes, Windows
// forms, file URIs, symbolic links). Go computes; Rego decides. The policy
// input carries the facts as input.facts.paths.
//
// # What it owns
//
// An Analyzer, built once by New from Options and immutable afterwards
// (safe for concurrent use), owns the canonical roots, the home directory
// and working directory, the compiled sensitive patterns and the argument
// names that hold paths. Facts walks decoded JSON arguments and returns one
// Fact per path-like string, ordered by JSON pointer (a value of a type
// that decoded JSON does not have gets an ErrUnsupported fact, so that
// undecoded arguments fail closed); FactsFor does the same for a call of a
// tool whose own path arguments a ToolArgs selects; Analyze canonicalises
// one string.
//
// # What it must never do
//
// It never opens, lists, reads or writes a file, and never follows a path
// other than the one it is asked about: the only system calls are lstat,
// readlink and access on the components of that path (and, in New, of the
// roots, the home directory and the fixed part of absolute sensitive
// patterns). It never logs and never prints; argument values appear only
// in the Fact they belong to (Fact.Error never repeats them). It keeps no
// mutable global state: the package-level tables are never written. Facts
// and Analyze never panic: a recovered panic becomes a Fact whose Error is
// ErrInternal.
//
// # Which arguments are paths
//
// By name, at any depth, case-insensitively and ignoring '_', '-', '.' and
// spaces (file_path, filePath and FILE-PATH are one name): path, paths,
// file, files, filename, filepath, dir, directory, folder, source, src,
// destination, dest, dst, target, cwd, root, workdir, working_directory,
// location, plus Options.ExtraPathArgs and the names of the call's
// ToolArgs (the configuration's path_args for the tool); also compound
// names whose last camelCase or snake_case word is path(s), file(s),
// filename(s), filepath(s), dir(s), directory, directories or folder(s)
// (sourcePath, output_file, baseDir — but not "profile" or "xpath"). A
// string under such a name, or in an array (at any depth of arrays) under
// it, is a path whatever it looks like. Objects under such a name are
// walked with their own keys. The JSON pointers of a call's ToolArgs
// ("/options/output") select arguments the same way, by their exact place.
//
// By value, for every other string: it starts with "/", "~" ("~", "~/x",
// "~name/x"), "file:/", a drive ("C:\", "C:/") or a UNC prefix ("\\server"),
// or it holds a ".." segment and neither blanks nor "://" (also once
// percent-decoded and NFKC-folded: "a/%2e%2e/b"); a single token that
// cannot be decoded ("..%c0%af") counts as a path too, so that its error
// reaches the policy. Left out as prose or data: anything with a line break,
// "scheme://" URLs other than file:// (http(s) and the rest are URLs, for
// another fact), a "/" followed by a blank or '*' ("/ 2", "/* c */", "// c"),
// a first component holding a blank ("/help me"), and base64 data of 64
// bytes or more ("/9j/4AAQ…" is a JPEG). Value detection is a safety net,
// not the rule: a tool's path arguments belong in path_args. Object keys
// are never treated as paths. A string under a path name is analysed
// whatever it holds, URLs included ("ab://../../etc" is a relative path to
// a tool that takes paths).
//
// # How a path is canonicalised
//
// Analyze reads a raw value two ways and reports on both:
//
//   - full, every normalisation a lenient tool might apply, until stable:
//     NFKC, look-alikes folded to the ASCII they imitate (U+2215 → '/',
//     U+2024 → '.', …) and invisible format characters removed; a file URI
//     reduced to its path (host empty or "localhost", no query or
//     fragment); percent-decoding repeated (at most 3 rounds beyond the one
//     a file URI needs; a fourth is ErrEncodedTooDeep), each round folded
//     again (so "％２ｅ" is "."); cut at a NUL byte; white space trimmed;
//     backslashes read as separators when WindowsForm; "~" and "~/x"
//     expanded with Home ("~user" is ErrTildeUser); joined to Cwd when
//     relative; cleaned; then the symbolic links of its longest existing
//     prefix resolved, one component at a time as the kernel does, and the
//     missing rest appended;
//   - literal, what a plain unix tool hands to open(2): the raw value cut
//     at NUL (the path of a file URI decoded once), "~" expanded, joined to
//     Cwd, cleaned and resolved the same way.
//
// A reading that holds a ".." segment is resolved twice: cleaned first, as
// path.resolve and os.path.abspath do, and as the kernel walks it, where
// ".." after a symbolic link climbs from the link's target (root/link/../x
// is outside the root when link points outside).
//
// Canonical is the full reading, cleaned, resolved. WithinRoots holds only
// when every resolution of both readings is inside a root; Sensitive when
// any reading, before or after its links are resolved, matches a pattern. Exists,
// Writable and Root describe Canonical; IsSymlink is set when either
// reading went through a link. When the two readings agree (the ordinary
// case) the file system is asked once.
//
// Decisions where a choice had to be made:
//
//   - NUL: the path is cut at the first NUL (what C code sees) and NUL is
//     set. Deny on NUL.
//   - Invalid UTF-8, raw or after decoding (overlong forms such as
//     "..%c0%af" included), is ErrInvalidUTF8: no canonical form is
//     guessed.
//   - A '%' not followed by two hex digits is kept: file names may hold '%'.
//   - Windows forms on this unix system: "C:\x\y" (also "C:/x", and
//     file:///C:/x) becomes "/C:/x/y" and "\\server\share\x" becomes
//     "/UNC/server/share/x", with ".." unable to climb above the drive or
//     share; such a path is never within roots (it names nothing here),
//     and is neither Exists nor Writable. Backslashes in other paths are
//     read as separators for the full reading ("..\..\etc" is a
//     traversal to ../../etc), literally for the other.
//   - Traversal is set for a ".." segment and for any segment made only of
//     dots and spaces with two dots or more ("...", "....", ". ."): Windows
//     strips trailing dots and spaces, and "....//" defeats filters that
//     remove "../" once. Such a segment is still an ordinary name in
//     Canonical, as it is on unix.
//   - Lookalike is set when normalisation changes anything, which includes
//     decomposed (NFD) accents as macOS writes them, ligatures, fullwidth
//     forms, zero-width and bidirectional characters.
//   - A file URI's own percent-decoding does not set Encoded; a second
//     round does. Encoded is otherwise set whenever an escape was decoded.
//   - A path whose resolution follows a symbolic link under /proc
//     (/proc/self, /proc/<pid>/cwd, root, fd/N; /dev/fd and /dev/stdin lead
//     there) is ErrProcLink: those links point elsewhere for every process,
//     so where they lead for the proxy says nothing about the upstream.
//   - Components of a path that cannot be inspected (lstat failing with
//     anything but ENOENT or ENOTDIR, e.g. EACCES) are ErrInspect: what is
//     behind them is unknown. Paths longer than PATH_MAX, with more than
//     255 components, or through more than 40 links are errors too.
//   - The empty string is the working directory, as path.resolve("") is.
//
// # Roots
//
// Roots are canonicalised by New (symlinks resolved; a root that does not
// exist yet keeps its missing tail). Containment compares whole components:
// /srv/data-evil is not within /srv/data; /srv/data itself is. Root "/"
// holds every unix path. Root is the most specific root that holds
// Canonical. Roots are compared case-sensitively.
//
// # Sensitive paths
//
// See DefaultSensitive for the list and the pattern syntax. Matching is
// case-insensitive. Options.Sensitive adds patterns (the proxy adds its
// own configuration file, keys and audit directories).
//
// # What a policy author must know
//
//   - Deny whenever Error is set; Canonical is empty then, and WithinRoots,
//     Exists and Writable are false.
//   - Deny NUL. Treat Encoded, Lookalike and WindowsForm as deny-worthy
//     unless a tool needs them: WithinRoots already requires every reading
//     to be inside, but the strongest guarantee is not to guess at all.
//   - Use WithinRoots, never string prefixes of Canonical, and never Raw.
//   - Sensitive holds inside the roots too: deny it even when WithinRoots.
//   - Sensitive is about the path itself. A recursive operation on an
//     ancestor (searching or copying ~) reaches sensitive files below it;
//     policies for recursive tools must consider that.
//   - The facts are a snapshot. The file system can change between the
//     decision and the tool's use of the path (a link created afterwards):
//     the facts cannot prevent that race, only the upstream's own sandbox
//     can.
//   - The facts describe the file system as this process sees it: an
//     upstream running as another user, in a container or with another
//     working directory may see other links and mounts. Set Cwd per server.
//     Hard links and bind mounts are invisible to path facts: a hard link
//     inside a root to a sensitive file is a different path.
//   - The facts are about the decoded arguments handed to Facts. Forward
//     exactly those (re-encoded) upstream, never the original bytes:
//     otherwise a duplicate key ({"path": "ok", "path": "/etc/shadow"}) or
//     another parser difference can show the policy one value and the
//     tool another.
//   - Facts caps its work: at most MaxPaths facts (the next path gets
//     ErrTooManyPaths and the walk stops), MaxRawBytes per raw value
//     (ErrTooLong), MaxDepth of nesting (ErrTooDeep) and MaxNodes values
//     (ErrTooLarge). All of these are deny-worthy errors.
package pathfact
