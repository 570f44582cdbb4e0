import { fireEvent, render, screen, within } from '@testing-library/preact';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import banner from '../../../components/features/banner';
import { uiConfig } from '../../../components/app/session';
import { at, person, uiConfigOf } from './fixtures';

beforeEach(() => sessionStorage.clear());
afterEach(() => {
  uiConfig.value = null;
});

const show = () => render(<>{banner.render(at('/ui/main/flows', person()))}</>);

describe('the announcements banner', () => {
  it('shows the maintenance notice and every announcement, and dismisses one for the session', () => {
    uiConfig.value = uiConfigOf({
      inMaintenance: true,
      maintenanceMessage: 'Upgrading Kestra until 14:00',
      banners: [
        { id: 'b1', message: 'Freeze on Friday', type: 'WARNING' },
        { id: 'b2', message: 'New runners available', type: 'INFO' },
      ],
    });
    show();
    const region = screen.getByRole('region', { name: 'Announcements' });
    expect(document.getElementById('perch-maintenance')!.textContent).toBe('Upgrading Kestra until 14:00');
    expect(within(region).getByText('Freeze on Friday')).toBeTruthy();
    expect(within(region).getByText('New runners available')).toBeTruthy();

    const first = region.querySelector('[data-banner=b1]')!;
    fireEvent.click(within(first as HTMLElement).getByRole('button', { name: 'Dismiss announcement' }));
    expect(screen.queryByText('Freeze on Friday')).toBeNull();
    expect(screen.getByText('New runners available')).toBeTruthy();
    // Maintenance cannot be dismissed.
    expect(document.getElementById('perch-maintenance')).toBeTruthy();
    expect(JSON.parse(sessionStorage.getItem('perch:dismissed-banners')!)).toEqual(['b1']);
  });

  it('remembers a dismissal across pages of the same session', () => {
    sessionStorage.setItem('perch:dismissed-banners', JSON.stringify(['b1']));
    uiConfig.value = uiConfigOf({ banners: [{ id: 'b1', message: 'Freeze on Friday', type: 'WARNING' }, { id: 'b2', message: 'Hello', type: 'INFO' }] });
    show();
    expect(screen.queryByText('Freeze on Friday')).toBeNull();
    expect(screen.getByText('Hello')).toBeTruthy();
  });

  it('shows the default maintenance text and nothing at all when there is nothing to say', () => {
    uiConfig.value = uiConfigOf({ inMaintenance: true });
    const { unmount } = show();
    expect(document.getElementById('perch-maintenance')!.textContent).toContain('maintenance mode');
    unmount();
    uiConfig.value = uiConfigOf();
    show();
    expect(screen.queryByRole('region', { name: 'Announcements' })).toBeNull();
  });
});
