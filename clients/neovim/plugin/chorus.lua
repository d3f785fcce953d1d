-- Chorus user commands. Loading them costs nothing: the plugin itself loads on first use and
-- does nothing until require('chorus').setup() runs.
if vim.g.loaded_chorus then
  return
end
vim.g.loaded_chorus = true

local function cmd(name, fn, opts)
  vim.api.nvim_create_user_command(name, function(args)
    fn(require('chorus'), args)
  end, opts or {})
end

cmd('ChorusShare', function(c, a)
  if a.args == 'readonly' then
    c.share({ readOnly = true })
  elseif a.args == '' then
    c.share()
  else
    vim.notify('Chorus: usage: :ChorusShare [readonly]', vim.log.levels.ERROR)
  end
end, {
  nargs = '?',
  complete = function()
    return { 'readonly' }
  end,
  desc = 'Share this project and copy its join code',
})
cmd('ChorusJoin', function(c, a)
  c.join(a.args)
end, { nargs = 1, desc = 'Join a shared session with a join code' })
cmd('ChorusStatus', function(c)
  c.status()
end, { desc = 'Show the daemon, session, buffers and peers' })
cmd('ChorusPeers', function(c)
  c.peers()
end, { desc = 'List the people in the session' })
cmd('ChorusFollow', function(c, a)
  c.follow(a.args)
end, { nargs = 1, desc = 'Follow a person across files' })
cmd('ChorusUnfollow', function(c)
  c.unfollow()
end, { desc = 'Stop following' })
cmd('ChorusUndo', function(c)
  c.undo()
end, { desc = 'Undo your own last change in this buffer, not anyone else’s' })
cmd('ChorusRedo', function(c)
  c.redo()
end, { desc = 'Redo what :ChorusUndo undid' })
cmd('ChorusAttach', function(c)
  if c.attach(0) == false then -- (nil: a second buffer of a shared file, told why already)
    vim.notify('Chorus: this buffer is not a file inside a Chorus project (no .chorus/ above it)', vim.log.levels.WARN)
  end
end, { desc = 'Share the current buffer' })
cmd('ChorusDetach', function(c)
  c.detach(0)
end, { desc = 'Stop sharing the current buffer' })
cmd('ChorusReconnect', function(c)
  c.reconnect()
end, { desc = 'Reconnect to the daemon now' })
