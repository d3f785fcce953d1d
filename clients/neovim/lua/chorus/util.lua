-- Small helpers shared by the plugin's modules (private).
if jit then jit.off(true, true) end -- see init.lua: LuaJIT's compiled traces crash Neovim 0.7.2
local M = {}

M.uv = vim.uv or vim.loop

--- Show a message to the person, prefixed with "Chorus: ".
---@param msg string
---@param level? integer one of vim.log.levels
function M.notify(msg, level)
  local function show()
    vim.notify('Chorus: ' .. msg, level or vim.log.levels.INFO)
  end
  if vim.in_fast_event() then
    vim.schedule(show)
  else
    show()
  end
end

--- Run `fn` on the main loop: now if that is where we are, else scheduled.
function M.main(fn)
  if vim.in_fast_event() then
    vim.schedule(fn)
  else
    fn()
  end
end

local function is_dir(path)
  local st = M.uv.fs_stat(path)
  return st ~= nil and st.type == 'directory'
end

--- The nearest folder at or above `path` that holds a `.chorus/` folder, or nil.
---@param path string an absolute file or folder path
---@return string|nil
function M.find_root(path)
  if path == nil or path == '' then
    return nil
  end
  local dir = is_dir(path) and path or vim.fn.fnamemodify(path, ':h')
  while dir and dir ~= '' do
    if is_dir(dir .. '/.chorus') then
      return dir
    end
    local up = vim.fn.fnamemodify(dir, ':h')
    if up == dir then
      return nil
    end
    dir = up
  end
  return nil
end

--- The text of an RPC error, for a person.
function M.error_text(err)
  if type(err) == 'table' then
    return tostring(err.message or vim.inspect(err))
  end
  return tostring(err)
end

--- A session (session/status `session`) in words, as `chorus status` says it: what it is doing
--- (reconnecting while a just-started daemon rejoins it, never "not shared"), then read-only and
--- view mode. The words are generated from protocol/src/session-words.ts; this is its
--- sessionClauses.
---@param s table the status's `session`
---@return string
function M.session_text(s)
  local words = require('chorus.protocol').session_words
  local out = { s.starting and words[s.starting] or (s.role == 'host' and words.sharing or words.joined) }
  if s.readOnly == true then
    out[#out + 1] = words.readOnly
  end
  if s.disk == false then
    out[#out + 1] = words.viewMode
  end
  return table.concat(out, '; ')
end

return M
