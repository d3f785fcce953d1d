-- Presence (private): sends this editor's selections, draws other people's cursors and
-- selections as extmarks (one highlight group per colour, the person's name as virtual text).
if jit then jit.off(true, true) end -- see init.lua: LuaJIT's compiled traces crash Neovim 0.7.2
local protocol = require('chorus.protocol')
local sync = require('chorus.sync')
local util = require('chorus.util')

local api = vim.api
local methods = protocol.methods

local M = {}

M.ns = api.nvim_create_namespace('chorus_cursors')

-- peer id -> { peer = PeerInfo, path = string, conn = Connection, marks = { [bufnr] = {ids} } }
M.peers = {}

local defined = {}

--- The highlight groups for a colour "#rrggbb": selection/caret background and label.
function M.highlight(color)
  local hex = (type(color) == 'string' and color:match('^#(%x%x%x%x%x%x)$')) or '888888'
  local name = 'ChorusPeer' .. hex:lower()
  if not defined[name] then
    defined[name] = true
    -- A readable foreground for the label on the colour.
    local r, g, b = tonumber(hex:sub(1, 2), 16), tonumber(hex:sub(3, 4), 16), tonumber(hex:sub(5, 6), 16)
    local fg = (0.299 * r + 0.587 * g + 0.114 * b) > 150 and '#000000' or '#ffffff'
    api.nvim_set_hl(0, name, { bg = '#' .. hex, fg = fg, default = true })
    api.nvim_set_hl(0, name .. 'Label', { bg = '#' .. hex, fg = fg, bold = true, default = true })
  end
  return name, name .. 'Label'
end

local function clear_marks(entry)
  for bufnr, ids in pairs(entry.marks or {}) do
    if api.nvim_buf_is_valid(bufnr) then
      for _, id in ipairs(ids) do
        pcall(api.nvim_buf_del_extmark, bufnr, M.ns, id)
      end
    end
  end
  entry.marks = {}
end

local function before(a, b)
  return a.line < b.line or (a.line == b.line and a.character < b.character)
end

local function draw(entry, state, selections)
  local bufnr = state.bufnr
  local hl, label_hl = M.highlight(entry.peer.color)
  local ids = {}
  local lines = state.lines
  local function clamp(pos)
    local line = math.min(pos.line, #lines - 1)
    local text = lines[line + 1] or ''
    return line, math.min(pos.character, #text)
  end
  for i, sel in ipairs(selections) do
    local a, h = sel.anchor, sel.head
    local s, e = a, h
    if before(h, a) then
      s, e = h, a
    end
    local sl, sc = clamp(s)
    local el, ec = clamp(e)
    if sl ~= el or sc ~= ec then
      local ok, id = pcall(api.nvim_buf_set_extmark, bufnr, M.ns, sl, sc, {
        end_row = el,
        end_col = ec,
        hl_group = hl,
        priority = 150,
      })
      if ok then
        ids[#ids + 1] = id
      end
    end
    -- The caret: one highlighted character at the head (a space past the end of the line).
    local hl_line, hl_col = clamp(h)
    local line_text = lines[hl_line + 1] or ''
    local opts = { priority = 160 }
    if hl_col < #line_text then
      local next_col = hl_col + #vim.fn.strcharpart(line_text:sub(hl_col + 1), 0, 1)
      opts.end_row, opts.end_col, opts.hl_group = hl_line, next_col, hl
    else
      opts.virt_text = { { ' ', hl } }
      opts.virt_text_pos = 'overlay'
    end
    local ok, id = pcall(api.nvim_buf_set_extmark, bufnr, M.ns, hl_line, hl_col, opts)
    if ok then
      ids[#ids + 1] = id
    end
    if i == 1 then
      local ok2, label = pcall(api.nvim_buf_set_extmark, bufnr, M.ns, hl_line, 0, {
        virt_text = { { ' ' .. entry.peer.name .. ' ', label_hl } },
        virt_text_pos = 'eol',
        priority = 160,
      })
      if ok2 then
        ids[#ids + 1] = label
      end
    end
  end
  entry.marks = { [bufnr] = ids }
end

--- cursor/didChange: someone's selections moved (an empty list: they left the file).
function M.did_change(conn, params)
  local peer = params.peer
  local key = conn.root .. '\0' .. peer.id .. '\0' .. (params.editor or '')
  local entry = M.peers[key] or { marks = {} }
  M.peers[key] = entry
  entry.peer, entry.path, entry.conn, entry.selections = peer, params.path, conn, params.selections
  clear_marks(entry)
  local state = sync.find(conn, params.path)
  -- Not in a buffer that stopped following (a read-only member's own change): its text is not
  -- the one these places are in (a trial saw names drawn on lines that differed). It is drawn
  -- again once the buffer follows (redraw).
  if state and not state.not_following and #params.selections > 0 and api.nvim_buf_is_loaded(state.bufnr) then
    draw(entry, state, params.selections)
  end
end

--- peer/didLeave: remove everything of that person.
function M.peer_left(conn, peer)
  for key, entry in pairs(M.peers) do
    if entry.conn == conn and entry.peer.id == peer.id then
      clear_marks(entry)
      M.peers[key] = nil
    end
  end
end

--- A buffer was (re)opened: draw the cursors already known for it.
function M.redraw(state)
  for _, entry in pairs(M.peers) do
    if entry.conn == state.conn and entry.path == state.path and entry.selections and #entry.selections > 0 then
      clear_marks(entry)
      draw(entry, state, entry.selections)
    end
  end
end

function M.clear_connection(conn)
  for key, entry in pairs(M.peers) do
    if entry.conn == conn then
      clear_marks(entry)
      M.peers[key] = nil
    end
  end
end

-- ---- our own cursor ---------------------------------------------------------------------------

-- What the daemon last got from us. It keeps one cursor per editor (in one file), and a cursor/set
-- drops the viewport: so one key each for the whole editor, not per buffer.
local last_sent, last_viewport = nil, nil

--- This window's selections in protocol positions (0-based line, byte column).
local function selections_of(bufnr)
  local cur = api.nvim_win_get_cursor(0)
  local head = { line = cur[1] - 1, character = cur[2] }
  local mode = api.nvim_get_mode().mode
  if mode == 'v' or mode == 'V' or mode == '\22' then
    local v = vim.fn.getpos('v')
    local anchor = { line = v[2] - 1, character = math.max(0, v[3] - 1) }
    if mode == 'V' then
      -- Whole lines: from the start of the first to the end of the last.
      local lines = api.nvim_buf_get_lines(bufnr, 0, -1, false)
      if before(head, anchor) then
        head.character = 0
        anchor.character = #(lines[anchor.line + 1] or '')
      else
        anchor.character = 0
        head.character = #(lines[head.line + 1] or '')
      end
    else
      -- Visual mode includes the character under the cursor.
      local line = api.nvim_buf_get_lines(bufnr, head.line, head.line + 1, false)[1] or ''
      if not before(head, anchor) and head.character < #line then
        head.character = head.character + #vim.fn.strcharpart(line:sub(head.character + 1), 0, 1)
      end
    end
    return { { anchor = anchor, head = head } }
  end
  return { { anchor = head, head = head } }
end

--- Send our cursor for the current buffer if it is shared and it moved.
function M.send_local()
  local bufnr = api.nvim_get_current_buf()
  local state = sync.buffers[bufnr]
  if not state or state.status ~= 'open' then
    return
  end
  -- Our typing first, so that the daemon knows the text the positions refer to.
  sync.flush(state)
  local sels = selections_of(bufnr)
  local key = state.conn.root .. '\0' .. state.path .. vim.inspect(sels)
  if last_sent == key then
    return
  end
  last_sent, last_viewport = key, nil
  state.conn:notify(methods.cursor_set, { path = state.path, selections = sels })
  -- The daemon forgets the viewport with every cursor/set: send it again, so that a follower
  -- sees the lines this window shows (their cursor goes to ours first).
  M.send_viewport()
end

--- The lines the current window shows, as a protocol range.
local function viewport_of(bufnr)
  local top, bot = vim.fn.line('w0'), vim.fn.line('w$')
  if top < 1 or bot < top then
    return nil
  end
  local last = api.nvim_buf_get_lines(bufnr, bot - 1, bot, false)[1] or ''
  return { start = { line = top - 1, character = 0 }, ['end'] = { line = bot - 1, character = #last } }
end

--- Send the current window's viewport if its buffer is shared and it changed.
function M.send_viewport()
  local bufnr = api.nvim_get_current_buf()
  local state = sync.buffers[bufnr]
  if not state or state.status ~= 'open' then
    return
  end
  local range = viewport_of(bufnr)
  if not range then
    return
  end
  sync.flush(state)
  local key = state.conn.root .. '\0' .. state.path .. ':' .. range.start.line .. '-' .. range['end'].line
  if last_viewport == key then
    return
  end
  last_viewport = key
  state.conn:notify(methods.viewport_set, { path = state.path, range = range })
end

--- A throttle: `fn` runs at once, then at most once per `ms` (a call in between runs once more
--- when the time is up, so the last position always goes out).
local function throttled(fn)
  local timer, again = nil, false
  local function run(ms)
    if timer then
      again = true
      return
    end
    fn()
    if ms <= 0 then
      return
    end
    timer = util.uv.new_timer()
    timer:start(ms, 0, function()
      timer:close()
      timer = nil
      if again then
        again = false
        vim.schedule(function()
          run(ms)
        end)
      end
    end)
  end
  return run
end

local cursor_throttle = throttled(function()
  M.send_local()
end)
local viewport_throttle = throttled(function()
  M.send_viewport()
end)

--- CursorMoved and friends: send our cursor, at most once per `ms`.
function M.cursor_moved(ms)
  cursor_throttle(ms or 0)
end

--- WinScrolled: send our viewport, at most once per `ms`.
function M.scrolled(ms)
  viewport_throttle(ms or 0)
end

--- We stopped editing a buffer: others see our cursor leave it.
function M.leave(state)
  if state.status == 'open' then
    state.conn:notify(methods.cursor_set, { path = state.path, selections = {} })
    last_sent, last_viewport = nil, nil
  end
end

--- The connection came back: the daemon knows nothing of us yet.
function M.forget_local()
  last_sent, last_viewport = nil, nil
end

return M
