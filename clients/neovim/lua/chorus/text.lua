-- Pure text helpers for buffer sync (private): the smallest change between two texts, positions
-- from byte offsets, and splitting inserted text into buffer lines. Positions are the protocol's
-- utf-8 positions: zero-based line, byte offset within the line.
if jit then jit.off(true, true) end -- see init.lua: LuaJIT's compiled traces crash Neovim 0.7.2
local M = {}

local function is_continuation(byte)
  return byte ~= nil and byte >= 0x80 and byte < 0xC0
end

--- The position of byte offset `off` (0-based, 0..#s) in `s`, where `s` starts at (line0, 0).
---@return table {line, character}
function M.offset_position(s, off, line0)
  local line, last = line0, 0
  local from = 1
  while true do
    local i = s:find('\n', from, true)
    if not i or i > off then
      break
    end
    line = line + 1
    last = i
    from = i + 1
  end
  return { line = line, character = off - last }
end

--- The smallest change turning `a` into `b`, as a protocol TextChange whose range is in `a`
--- (which starts at line `line0`, column 0), or nil when they are equal. The common suffix is
--- trimmed before the common prefix, so when both end with the same line break the change never
--- touches it. Never splits a UTF-8 sequence.
---
--- `at` (optional) is where in `a` (a byte offset) the edit really began, as Neovim's on_bytes
--- said. Text inserted or deleted next to equal characters fits several places (a space typed
--- before another space), and the diff alone picks the last; which one it is decides whose
--- characters these are, and so what a peer's own-edit undo removes (a trial: a person typing
--- " typing]" just before a peer's " {bob}" had the peer's space, and the peer's undo then
--- deleted theirs). So where `at` is one of those places, the change is made there.
---@param a string
---@param b string
---@param line0? integer
---@param at? integer
function M.diff(a, b, line0, at)
  if a == b then
    return nil
  end
  local la, lb = #a, #b
  local max = math.min(la, lb)
  -- The common prefix first: text typed after a run of equal characters is inserted after them
  -- ("x B1" -> "x B1 A1" is " A1" at the end). Suffix first made it "1 A" inside the run, which
  -- a peer had typed: that peer's own-edit undo then removed this person's "1".
  local p = 0
  while p < max and a:byte(p + 1) == b:byte(p + 1) do
    p = p + 1
  end
  -- the prefix must end on a character boundary
  while p > 0 and (is_continuation(a:byte(p + 1)) or is_continuation(b:byte(p + 1))) do
    p = p - 1
  end
  local s = 0
  local maxs = max - p
  while s < maxs and a:byte(la - s) == b:byte(lb - s) do
    s = s + 1
  end
  -- the suffix must start on a character boundary
  while s > 0 and (is_continuation(a:byte(la - s + 1)) or is_continuation(b:byte(lb - s + 1))) do
    s = s - 1
  end
  if at ~= nil and at ~= p and (p + s == la or p + s == lb) then
    -- Only inserted (or only deleted): every place from the first one whose rest of the text
    -- still matches to `p` gives `b`.
    local full = 0
    local bound = math.min(la, lb)
    while full < bound and a:byte(la - full) == b:byte(lb - full) do
      full = full + 1
    end
    if at >= math.min(la, lb) - full and at < p then
      if p + s == la then
        s = la - at -- inserted at `at`: all of `a` after it is kept
      else
        s = lb - at -- deleted from `at`: all of `b` after it is kept
      end
      p = at
    end
  end
  -- Lines added after a region kept whole go in before its last line break, not after it: after
  -- it is past the end of a text whose final line break is virtual ('noeol'), a position the
  -- daemon does not have (`GAx<CR>y` on a last line without one).
  if s == 0 and p == la and lb > la and a:sub(-1) == '\n' then
    local sep = a:sub(-2) == '\r\n' and '\r\n' or '\n'
    if b:sub(-#sep) == sep then
      p, s = la - #sep, #sep
    end
  end
  line0 = line0 or 0
  local start = M.offset_position(a, p, line0)
  local finish = M.offset_position(a, la - s, line0)
  return { range = { start = start, ['end'] = finish }, text = b:sub(p + 1, lb - s) }, a:sub(p + 1, la - s)
end

--- The position just after `inserted` when it is inserted at `start`.
function M.end_of(start, inserted)
  local breaks, last = 0, nil
  local from = 1
  while true do
    local i = inserted:find('\n', from, true)
    if not i then
      break
    end
    breaks, last, from = breaks + 1, i, i + 1
  end
  if breaks == 0 then
    return { line = start.line, character = start.character + #inserted }
  end
  return { line = start.line + breaks, character = #inserted - last }
end

--- The change that undoes `change`, given the text it replaced.
function M.inverse(change, removed)
  local start = change.range.start
  return { range = { start = start, ['end'] = M.end_of(start, change.text) }, text = removed }
end

--- The byte offset (0-based) of a protocol position in `s`.
function M.position_offset(s, pos)
  local off = 0
  for _ = 1, pos.line do
    local i = s:find('\n', off + 1, true)
    if not i then
      error(('line %d is past the end of the text'):format(pos.line))
    end
    off = i
  end
  return off + pos.character
end

--- `s` with `change` applied.
function M.apply(s, change)
  local a = M.position_offset(s, change.range.start)
  local b = M.position_offset(s, change.range['end'])
  return s:sub(1, a) .. change.text .. s:sub(b + 1)
end

--- Split inserted text into buffer lines; with `crlf`, a "\r" before each "\n" is dropped.
---@return string[]
function M.split(text, crlf)
  local lines = vim.split(text, '\n', { plain = true })
  if crlf then
    for i = 1, #lines - 1 do
      if lines[i]:sub(-1) == '\r' then
        lines[i] = lines[i]:sub(1, -2)
      end
    end
  end
  return lines
end

--- A list's items first..last (1-based, inclusive); empty when last < first.
function M.slice(list, first, last)
  local out = {}
  for i = first, last do
    out[#out + 1] = list[i]
  end
  return out
end

--- Replace list items [first+1 .. last] (0-based exclusive range first..last) with `items`.
function M.splice(list, first, last, items)
  local removed = last - first
  local added = #items
  local n = #list
  if added ~= removed then
    local delta = added - removed
    if delta > 0 then
      for i = n, last + 1, -1 do
        list[i + delta] = list[i]
      end
    else
      for i = last + 1, n do
        list[i + delta] = list[i]
      end
      for i = n + delta + 1, n do
        list[i] = nil
      end
    end
  end
  for i = 1, added do
    list[first + i] = items[i]
  end
end

return M
