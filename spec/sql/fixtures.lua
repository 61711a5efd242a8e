-- fixtures.lua: the tables the SQL specs compile against.
local qs = require("quicksilver")

local M = {}

function M.tables()
  local md = qs.MetaData()
  local teams = qs.Table("teams", md,
    qs.Column("id", qs.Integer, {primary_key = true}),
    qs.Column("name", qs.String(30), {nullable = false}))
  local users = qs.Table("users", md,
    qs.Column("id", qs.Integer, {primary_key = true}),
    qs.Column("name", qs.String(50), {nullable = false}),
    qs.Column("email", qs.String(100), {unique = true, index = true}),
    qs.Column("age", qs.Integer),
    qs.Column("team_id", qs.Integer, qs.ForeignKey("teams.id", {ondelete = "CASCADE"})))
  local orders = qs.Table("orders", md,
    qs.Column("id", qs.Integer, {primary_key = true}),
    qs.Column("user_id", qs.ForeignKey("users.id")),
    qs.Column("amount", qs.Numeric(10, 2)),
    qs.Column("placed", qs.DateTime))
  return {md = md, teams = teams, users = users, orders = orders}
end

return M
