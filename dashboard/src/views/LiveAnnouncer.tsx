// Visually hidden live regions; they exist from page load so screen readers watch them.
import type { Announcement } from "../state/store";

export function LiveAnnouncer({ announcement }: { announcement: Announcement | null }) {
  const assertive = announcement?.assertive ? announcement : null;
  const polite = announcement && !announcement.assertive ? announcement : null;
  return (
    <div class="visually-hidden">
      <div role="alert" aria-live="assertive" aria-atomic="true" data-testid="announce-assertive">
        {assertive && <span key={assertive.seq}>{assertive.text}</span>}
      </div>
      <div role="status" aria-live="polite" aria-atomic="true" data-testid="announce-polite">
        {polite && <span key={polite.seq}>{polite.text}</span>}
      </div>
    </div>
  );
}
